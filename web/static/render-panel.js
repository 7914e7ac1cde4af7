// Export: render the version on screen with a preset and format, follow the job, offer the download.

import { cancelJob, startRender } from "./api.js";
import { formatNumber, formatTime } from "./format.js";
import { followJob } from "./jobs.js";
import { PRESETS, targetNote } from "./loudness.js";
import { hideNotice, showError, showNotice } from "./notice.js";
import { ProgressBlock } from "./progress.js";

const PRESET_HELP = {
  podcast: "−16 LUFS, true peak at most −1 dBTP, 44.1 kHz.",
  "audiobook-acx": "RMS −23 to −18 dB, peak at most −3 dB, mono 192 kbit/s MP3.",
  "": "The audio keeps its level, sample rate and channels.",
};

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
    this.progress = new ProgressBlock("render", { onCancel: () => this.cancel() });
    this.jobId = null;

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.render();
    });
    this.presetSelect.addEventListener("change", () => {
      this.updateChoices();
      onPresetChange(this.presetSelect.value);
    });
    this.formatSelect.addEventListener("change", () => this.updateChoices());
    this.updateChoices();
  }

  get preset() {
    return this.presetSelect.value;
  }

  // ACX takes only 192 kbit/s MP3, and lossless formats have no bitrate: offer only what the server accepts.
  updateChoices() {
    const acx = this.preset === "audiobook-acx";
    if (acx) {
      this.formatSelect.value = "mp3";
      this.bitrateSelect.value = "192";
    }
    for (const option of this.formatSelect.options) option.disabled = acx && option.value !== "mp3";
    const lossless = ["flac", "wav"].includes(this.formatSelect.value);
    this.bitrateSelect.disabled = acx || lossless;
    if (lossless) this.bitrateSelect.value = "";
    document.getElementById("preset-help").textContent = PRESET_HELP[this.preset] ?? "";
  }

  versionShown(asset) {
    this.card.hidden = false;
    const titleTag = document.getElementById("tag-title");
    if (!titleTag.value || titleTag.dataset.assetId !== asset.assetId) titleTag.value = asset.title || "";
    titleTag.dataset.assetId = asset.assetId;
    this.result.hidden = true;
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
        preset: this.preset || null,
        bitrate: this.bitrateSelect.disabled || !this.bitrateSelect.value ? null : Number(this.bitrateSelect.value),
        tags: this.tags(),
      });
      this.jobId = job.jobId;
      const last = await followJob(job, (update) => {
        this.jobsPanel.track(update);
        const text = update.status === "queued" ? "Export waiting to start" : "Exporting";
        this.progress.show(text, update.status === "queued" ? null : update.progress || 0, { cancellable: true });
      });
      this.finish(last);
    } catch (error) {
      showError(error);
    } finally {
      this.jobId = null;
      this.progress.hide();
      this.button.disabled = false;
    }
  }

  finish(job) {
    if (job.status === "cancelled") {
      showNotice("The export was cancelled.", "info");
      return;
    }
    if (job.status === "failed") {
      showNotice(`The export failed: ${job.error?.message || "the server gave no reason"}`);
      return;
    }
    const result = job.result;
    const link = document.getElementById("download-link");
    link.href = `${result.url}${result.url.includes("?") ? "&" : "?"}download=1`;
    link.download = result.filename || "";
    link.textContent = `Download ${result.filename || result.format}`;
    const bitrate = typeof result.bitrate === "number" ? `, ${result.bitrate} kbit/s` : "";
    const lufs = formatNumber(result.loudness?.integratedLufs, "LUFS");
    const peak = formatNumber(result.loudness?.truePeakDbtp, "dBTP");
    document.getElementById("render-summary").textContent =
      `${result.format.toUpperCase()}${bitrate}, ${formatTime(result.durationSec)}, ${lufs}, peak ${peak}`;
    const presetName = result.preset || this.preset;
    const label = PRESETS[presetName]?.label || presetName;
    const note = targetNote(result.loudness, presetName, { exported: true });
    // The worker's verdict on the exported file wins; the figures explain it when both agree.
    const met = typeof result.targetsMet === "boolean" ? result.targetsMet : note.met;
    const targets = document.getElementById("render-targets");
    if (!presetName) targets.textContent = "";
    else if (met === note.met && note.text) targets.textContent = note.text;
    else targets.textContent = `The exported file ${met ? "meets" : "misses"} the ${label} targets.`;
    targets.classList.toggle("miss", !met);
    this.result.hidden = false;
  }

  async cancel() {
    if (!this.jobId) return;
    this.progress.cancelButton.disabled = true;
    try {
      this.jobsPanel.track(await cancelJob(this.jobId));
    } catch (error) {
      showError(error);
    }
  }
}
