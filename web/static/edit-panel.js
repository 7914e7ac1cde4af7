// The edit tools, the pending edit list, and the preview and save jobs made from it.

import { startPreview, startSave } from "./api.js";
import { EditList, describeEdit } from "./editor.js";
import { formatNumber, formatTime } from "./format.js";
import { followJob } from "./jobs.js";
import { normalizeTargetLufs } from "./loudness.js";
import { hideNotice, showError, showNotice } from "./notice.js";
import { ProgressBlock } from "./progress.js";

const SPAN_OPS = new Set(["trim", "cut", "gain"]);
// What a normalize edit aims at when no preset is chosen.
const DEFAULT_NORMALIZE_LUFS = -16;
// The inputs that set an edit's field: their limits come from the server's rules (GET /api/audio/edit/operations).
const INPUT_FIELDS = {
  "fade-in-seconds": ["fadeIn", "duration"],
  "fade-out-seconds": ["fadeOut", "duration"],
  "gain-db": ["gain", "db"],
  "normalize-lufs": ["normalize", "targetLufs"],
  "silence-db": ["trimSilence", "thresholdDb"],
};

export class EditPanel {
  constructor({ recording, jobsPanel, onSaved }) {
    this.recording = recording;
    this.jobsPanel = jobsPanel;
    this.onSaved = onSaved;
    this.edits = new EditList(() => this.render());
    this.listElement = document.getElementById("edit-list");
    this.emptyText = document.getElementById("edit-list-empty");
    this.previewButton = document.getElementById("preview-button");
    this.saveButton = document.getElementById("save-button");
    this.previewPlayer = document.getElementById("preview-player");
    this.previewAudio = document.getElementById("preview-audio");
    this.previewText = document.getElementById("preview-text");
    this.jobProgress = new ProgressBlock("edit-job", { onCancel: () => this.cancel() });
    this.jobId = null;
    this.shownVersion = null;
    this.fields = new Map();

    const on = (id, handler) => document.getElementById(id).addEventListener("click", handler);
    on("cut-button", () => this.addSpanEdit("cut"));
    on("trim-button", () => this.addSpanEdit("trim"));
    on("fade-in-button", () => this.addFade("fadeIn", "fade-in-seconds"));
    on("fade-out-button", () => this.addFade("fadeOut", "fade-out-seconds"));
    on("gain-button", () => this.addGain());
    on("normalize-button", () => this.addNormalize());
    on("silence-button", () => this.addTrimSilence());
    this.previewButton.addEventListener("click", () => this.runJob("preview"));
    this.saveButton.addEventListener("click", () => this.runJob("save"));
    this.render();
  }

  versionShown(asset, version) {
    const key = `${asset.assetId}/${version.version}`;
    if (this.shownVersion !== key && this.edits.length > 0) {
      showNotice(`The pending edits were cleared: they were made on another version.`, "info");
    }
    this.shownVersion = key;
    this.edits.reset(version.durationSec);
    this.previewAudio.pause();
    this.previewPlayer.hidden = true;
  }

  // The server's edit rules: each input takes its field's range, and optional fields their server defaults.
  useRules({ operations }) {
    for (const { op, fields } of operations) {
      for (const field of fields) this.fields.set(`${op}.${field.name}`, field);
    }
    for (const [id, [op, name]] of Object.entries(INPUT_FIELDS)) {
      const field = this.fields.get(`${op}.${name}`);
      if (!field) continue;
      const input = document.getElementById(id);
      input.min = String(field.min);
      input.max = String(field.max);
    }
  }

  // A field's default as the server declares it; undefined (left out of the edit) until the rules are loaded.
  fieldDefault(op, name) {
    return this.fields.get(`${op}.${name}`)?.default ?? undefined;
  }

  presetChanged(preset) {
    document.getElementById("normalize-lufs").value = String(normalizeTargetLufs(preset) ?? DEFAULT_NORMALIZE_LUFS);
  }

  readNumber(id, what) {
    const input = document.getElementById(id);
    const value = Number.parseFloat(input.value);
    if (!Number.isFinite(value) || !input.checkValidity()) {
      const from = input.min ? ` from ${input.min}` : "";
      const to = input.max ? ` to ${input.max}` : "";
      showNotice(`${what} must be a number${from}${to}.`);
      input.focus();
      return null;
    }
    return value;
  }

  mappedSelection() {
    const selection = this.recording.selection;
    if (!selection) {
      showNotice("Select a span first: drag across the waveform, or type its start and end.", "info");
      return null;
    }
    const span = this.edits.mapSpan(selection[0], selection[1]);
    if (!span) showNotice("That span has already been cut away by a pending edit.", "info");
    return span;
  }

  add(edit) {
    hideNotice();
    this.edits.add(edit);
  }

  addSpanEdit(op) {
    const span = this.mappedSelection();
    if (!span) return;
    this.add({ op, start: span[0], end: span[1] });
    this.recording.select(null);
  }

  addFade(op, inputId) {
    const duration = this.readNumber(inputId, op === "fadeIn" ? "Fade in" : "Fade out");
    if (duration === null) return;
    const length = this.edits.editedDuration();
    if (duration <= 0 || duration > length) {
      showNotice(`A fade must last more than 0 s and at most the length of the audio (${formatTime(length)}).`);
      return;
    }
    this.add({ op, duration });
  }

  addGain() {
    const db = this.readNumber("gain-db", "Gain");
    if (db === null) return;
    if (!this.recording.selection) {
      this.add({ op: "gain", db });
      return;
    }
    const span = this.mappedSelection();
    if (span) this.add({ op: "gain", db, start: span[0], end: span[1] });
  }

  addNormalize() {
    const targetLufs = this.readNumber("normalize-lufs", "The loudness target");
    if (targetLufs === null) return;
    const truePeakDb = this.recording.preset?.targets.truePeakDb ?? this.fieldDefault("normalize", "truePeakDb");
    this.add({ op: "normalize", targetLufs, truePeakDb });
  }

  addTrimSilence() {
    const thresholdDb = this.readNumber("silence-db", "The silence threshold");
    if (thresholdDb === null) return;
    this.add({ op: "trimSilence", thresholdDb, minSilence: this.fieldDefault("trimSilence", "minSilence") });
  }

  render() {
    const items = this.edits.edits.map((edit, index) => {
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.className = "edit-text";
      text.textContent = describeEdit(edit);
      if (SPAN_OPS.has(edit.op) && edit.start !== undefined && this.edits.hasTrimSilenceBefore(index)) {
        text.textContent += " (times count after the silence is trimmed)";
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button subtle small";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove edit ${index + 1}: ${describeEdit(edit)}`);
      remove.addEventListener("click", () => {
        this.edits.remove(index);
        const next = this.listElement.querySelectorAll("button")[Math.min(index, this.edits.length - 1)];
        (next || this.previewButton).focus();
      });
      item.append(text, remove);
      return item;
    });
    this.listElement.replaceChildren(...items);
    this.emptyText.hidden = items.length > 0;
    const busy = this.jobId !== null;
    this.previewButton.disabled = busy || items.length === 0;
    this.saveButton.disabled = busy || items.length === 0;
    this.recording.showRemoved(this.edits.removedRanges());
  }

  async runJob(kind) {
    const version = this.recording.version;
    const assetId = this.recording.asset.assetId;
    const edits = this.edits.toJSON();
    const label = kind === "preview" ? "Preparing the preview" : "Saving a new version";
    hideNotice();
    this.previewAudio.pause();
    try {
      const start = kind === "preview" ? startPreview : startSave;
      const job = await start(assetId, version.version, edits);
      this.jobId = job.jobId;
      this.render();
      const last = await followJob(job, (update) => {
        this.jobsPanel.track(update);
        const queued = update.status === "queued";
        this.jobProgress.show(queued ? `${label}: waiting` : label, queued ? null : update.progress || 0, {
          cancellable: true,
        });
      });
      this.finish(kind, last, edits.length);
    } catch (error) {
      showError(error);
    } finally {
      this.jobId = null;
      this.jobProgress.hide();
      this.render();
    }
  }

  finish(kind, job, editCount) {
    if (job.status === "cancelled") {
      showNotice(kind === "preview" ? "The preview was cancelled." : "Saving was cancelled.", "info");
      return;
    }
    if (job.status === "failed") {
      const what = kind === "preview" ? "The preview failed" : "The new version could not be saved";
      showNotice(`${what}: ${job.error?.message || "the server gave no reason"}`);
      return;
    }
    if (kind === "preview") {
      this.showPreview(job.result, editCount);
    } else {
      this.edits.reset(this.recording.durationSec);
      this.onSaved(job.result);
    }
  }

  showPreview(result, editCount) {
    const lufs = formatNumber(result.loudness?.integratedLufs, "LUFS");
    const edits = `${editCount} edit${editCount === 1 ? "" : "s"}`;
    this.previewText.textContent = `Preview of ${edits}: ${formatTime(result.durationSec)}, ${lufs}.`;
    this.previewPlayer.hidden = false;
    this.previewAudio.src = result.previewUrl;
    this.recording.player.pause();
    this.previewAudio.play().catch(() => {
      this.previewText.textContent += " Press play to listen.";
    });
  }

  cancel() {
    if (this.jobId) this.jobsPanel.cancel(this.jobId, this.jobProgress.cancelButton);
  }
}
