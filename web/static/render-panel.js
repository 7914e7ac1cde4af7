// Export: render the version on screen with a preset and format, follow the job, offer the download.

import { listJobsOfType, startRender } from "./api.js";
import { formatNumber, formatTime } from "./format.js";
import { downloadHref, followJob, progressView } from "./jobs.js";
import { rememberJob } from "./memory.js";
import { presetHelp, targetNote } from "./loudness.js";
import { hideNotice, showBeside } from "./notice.js";
import { ProgressBlock } from "./progress.js";

// Whether a format's bitrate rule (from the server's catalogue; null for a lossless format) takes `kbps`.
function takesBitrate(rule, kbps) {
  if (rule === null || kbps < rule.min || kbps > rule.max) return false;
  return rule.allowed === null || rule.allowed.includes(kbps);
}

function option(value, label) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = label;
  return element;
}

export class RenderPanel {
  constructor({ recording, jobsPanel, onPresetChange }) {
    this.recording = recording;
    this.jobsPanel = jobsPanel;
    this.card = document.getElementById("render-card");
    this.form = document.getElementById("render-form");
    this.presetSelect = document.getElementById("preset-select");
    this.formatSelect = document.getElementById("format-select");
    this.bitrateSelect = document.getElementById("bitrate-select");
    this.button = document.getElementById("render-button");
    this.result = document.getElementById("render-result");
    this.exportList = document.getElementById("export-list");
    this.exportsBlock = document.getElementById("exports");
    this.progress = new ProgressBlock("render", { onCancel: () => this.cancel() });
    this.onPresetChange = onPresetChange;
    this.presets = new Map();
    this.formats = new Map();
    this.jobId = null;

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.render();
    });
    this.presetSelect.addEventListener("change", () => {
      this.updateChoices();
      this.onPresetChange(this.preset);
    });
    this.formatSelect.addEventListener("change", () => this.updateChoices());
  }

  // The presets, formats and tag limits the server offers (loudness.js loadRenderCatalogue): the first preset is
  // the default.
  useCatalogue({ presets, formats, tags }) {
    for (const tag of tags) {
      const input = document.getElementById(`tag-${tag.name}`);
      if (input) input.maxLength = tag.maxChars;
    }
    this.presets = new Map(presets.map((preset) => [preset.name, preset]));
    this.formats = new Map(formats.map((format) => [format.name, format]));
    const none = [...this.presetSelect.options].filter((choice) => choice.value === "");
    this.presetSelect.replaceChildren(...presets.map((preset) => option(preset.name, preset.label)), ...none);
    this.presetSelect.value = presets[0]?.name ?? "";
    this.formatSelect.replaceChildren(...formats.map((format) => option(format.name, format.label)));
    this.updateChoices();
    this.onPresetChange(this.preset);
  }

  // The chosen preset's entry in the catalogue, or null for none.
  get preset() {
    return this.presets.get(this.presetSelect.value) ?? null;
  }

  // A preset may allow one encoding only (ACX: 192 kbit/s MP3), and lossless formats have no bitrate: offer only
  // what the server accepts.
  updateChoices() {
    const preset = this.preset;
    const lockedFormat = preset?.format ?? null;
    if (lockedFormat) this.formatSelect.value = lockedFormat;
    for (const choice of this.formatSelect.options) {
      choice.disabled = lockedFormat !== null && choice.value !== lockedFormat;
    }
    const rule = this.formats.get(this.formatSelect.value)?.bitrate ?? null;
    for (const choice of this.bitrateSelect.options) {
      choice.disabled = choice.value !== "" && !takesBitrate(rule, Number(choice.value));
    }
    if (preset?.bitrate) this.bitrateSelect.value = String(preset.bitrate);
    else if (this.bitrateSelect.selectedOptions[0]?.disabled) this.bitrateSelect.value = "";
    this.bitrateSelect.disabled = Boolean(preset?.bitrate) || rule === null;
    if (rule === null) this.bitrateSelect.value = "";
    document.getElementById("preset-help").textContent = presetHelp(preset);
    document.getElementById("custom-targets").hidden = !preset?.requiredTargets?.length;
  }

  // The targets a preset needs from the request (custom: the level and the ceiling); null for the others.
  requestTargets() {
    if (!this.preset?.requiredTargets?.length) return null;
    return {
      integratedLufs: Number.parseFloat(document.getElementById("target-lufs").value),
      truePeakDb: Number.parseFloat(document.getElementById("target-peak").value),
    };
  }

  versionShown(asset) {
    this.card.hidden = false;
    const titleTag = document.getElementById("tag-title");
    if (!titleTag.value || titleTag.dataset.assetId !== asset.assetId) titleTag.value = asset.title || "";
    titleTag.dataset.assetId = asset.assetId;
    this.result.hidden = true;
    this.showExports(asset.assetId);
  }

  // The finished exports of the recording, from the server's job list, so they stay downloadable after a reload.
  async showExports(assetId) {
    let jobs = [];
    try {
      jobs = (await listJobsOfType("render")).jobs || [];
    } catch (error) {
      showBeside("render-message", error.message);
      return;
    }
    if (this.recording.asset?.assetId !== assetId) return;
    const exports = jobs.filter((job) => job.status === "completed" && job.result?.assetId === assetId);
    this.exportList.replaceChildren(
      ...exports.map((job) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = downloadHref(job.result);
        link.download = job.result.filename || "";
        link.textContent = job.result.filename || job.result.format;
        const details = document.createElement("span");
        details.className = "muted";
        details.textContent = ` version ${job.result.version}, ${formatTime(job.result.durationSec)}`;
        item.append(link, details);
        return item;
      }),
    );
    this.exportsBlock.hidden = exports.length === 0;
  }

  tags() {
    const tags = {};
    const title = document.getElementById("tag-title").value.trim();
    const artist = document.getElementById("tag-artist").value.trim();
    if (title) tags.title = title;
    if (artist) tags.artist = artist;
    return tags;
  }

  async render() {
    const { asset, version } = this.recording;
    if (!asset || !version || this.jobId) return;
    hideNotice();
    this.result.hidden = true;
    this.button.disabled = true;
    try {
      const job = await startRender({
        assetId: asset.assetId,
        version: version.version,
        format: this.formatSelect.value,
        preset: this.preset?.name ?? null,
        bitrate: this.bitrateSelect.disabled || !this.bitrateSelect.value ? null : Number(this.bitrateSelect.value),
        tags: this.tags(),
        targets: this.requestTargets(),
      });
      this.jobId = job.jobId;
      rememberJob(job.jobId, {
        assetId: asset.assetId,
        title: asset.title,
        what: `${this.formatSelect.value.toUpperCase()} of version ${version.version}`,
      });
      const last = await followJob(job, (update) => {
        this.jobsPanel.track(update);
        const { text, fraction } = progressView("Exporting", update);
        this.progress.show(text, fraction, { cancellable: true, job: update });
      });
      this.finish(last);
    } catch (error) {
      showBeside("render-message", error.message || String(error));
    } finally {
      this.jobId = null;
      this.progress.hide();
      this.button.disabled = false;
    }
  }

  finish(job) {
    if (job.status === "cancelled") {
      showBeside("render-message", "The export was cancelled.", "info");
      return;
    }
    if (job.status === "failed") {
      showBeside("render-message", `The export failed: ${job.error?.message || "the server gave no reason"}`);
      return;
    }
    const result = job.result;
    const link = document.getElementById("download-link");
    link.href = downloadHref(result);
    link.download = result.filename || "";
    link.textContent = `Download ${result.filename || result.format}`;
    const bitrate = typeof result.bitrate === "number" ? `, ${result.bitrate} kbit/s` : "";
    const lufs = formatNumber(result.loudness?.integratedLufs, "LUFS");
    const peak = formatNumber(result.loudness?.truePeakDbtp, "dBTP");
    document.getElementById("render-summary").textContent =
      `${result.format.toUpperCase()}${bitrate}, ${formatTime(result.durationSec)}, ${lufs}, peak ${peak}`;
    const presetName = result.preset || this.preset?.name;
    const preset = this.presets.get(presetName) ?? null;
    const label = preset?.label || presetName;
    const note = targetNote(result.loudness, preset, { exported: true });
    // The worker's verdict on the exported file wins; the figures explain it when both agree.
    const met = typeof result.targetsMet === "boolean" ? result.targetsMet : note.met;
    const targets = document.getElementById("render-targets");
    if (!presetName) targets.textContent = "";
    else if (met === note.met && note.text) targets.textContent = note.text;
    else targets.textContent = `The exported file ${met ? "meets" : "misses"} the ${label} targets.`;
    targets.classList.toggle("miss", !met);
    this.showCompliance(result.compliance);
    this.result.hidden = false;
    this.showExports(result.assetId);
  }

  // The worker's compliance report: each figure measured on the exported file, with the preset's limit.
  showCompliance(report) {
    const list = document.getElementById("render-compliance");
    const items = (report?.checks ?? []).map((check) => {
      const item = document.createElement("li");
      const limit =
        check.min !== null && check.max !== null && check.min !== check.max
          ? ` (${check.min} to ${check.max})`
          : check.max !== null
            ? ` (at most ${check.max})`
            : "";
      const verdict = check.passed === null ? "" : check.passed ? " ✓ pass" : " ✗ fail";
      const measured = check.measured === null ? "–" : `${check.measured} ${check.unit}`.trim();
      item.textContent = `${COMPLIANCE_LABELS[check.name] ?? check.name}: ${measured}${limit}${verdict}`;
      if (check.passed === false) item.classList.add("miss");
      return item;
    });
    list.replaceChildren(...items);
  }

  cancel() {
    if (this.jobId) this.jobsPanel.cancel(this.jobId, this.progress.cancelButton);
  }
}

const COMPLIANCE_LABELS = {
  integratedLoudness: "Integrated loudness",
  loudnessRange: "Loudness range",
  truePeak: "True peak",
  rms: "RMS",
  noiseFloor: "Noise floor",
  sampleRate: "Sample rate",
  channels: "Channels",
};
