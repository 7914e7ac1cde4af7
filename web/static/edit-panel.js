// The edit tools, the pending edit list, and the preview and save jobs made from it.

import { startPreview, startSave } from "./api.js";
import { EditList, describeEdit } from "./editor.js";
import { formatNumber, formatTime } from "./format.js";
import { followJob, progressView } from "./jobs.js";
import { normalizeTargetLufs } from "./loudness.js";
import { UndoHistory } from "./history.js";
import { loadPendingEdits, rememberJob, savePendingEdits } from "./memory.js";
import { SELECT_FIRST, hideNotice, showBeside, showNoteList } from "./notice.js";
import { ProgressBlock } from "./progress.js";

const SPAN_OPS = new Set(["trim", "cut", "gain"]);
// What a normalize edit aims at when no preset is chosen.
const DEFAULT_NORMALIZE_LUFS = -16;
// Until the server's rules arrive; GET /api/audio/edit/operations serves the real one as minKeptSec.
const FALLBACK_MIN_KEPT_S = 0.01;
// The inputs that set an edit's field: their limits come from the server's rules (GET /api/audio/edit/operations).
const INPUT_FIELDS = {
  "fade-in-seconds": ["fadeIn", "duration"],
  "fade-out-seconds": ["fadeOut", "duration"],
  "gain-db": ["gain", "db"],
  "normalize-lufs": ["normalize", "targetLufs"],
  "silence-db": ["trimSilence", "thresholdDb"],
};

// The enhance operations' names on the page; their forms come from the server's rules (kind "enhance").
const ENHANCE_LABELS = {
  highpass: "Highpass",
  dehum: "Dehum",
  denoise: "Denoise",
  deess: "De-ess",
  level: "Level speakers",
  shortenPauses: "Shorten pauses",
};

export class EditPanel {
  constructor({ recording, jobsPanel, onSaved }) {
    this.recording = recording;
    this.jobsPanel = jobsPanel;
    this.onSaved = onSaved;
    this.edits = new EditList(() => this.render());
    this.history = new UndoHistory(() => this.renderHistoryButtons());
    this.undoButton = document.getElementById("undo-button");
    this.redoButton = document.getElementById("redo-button");
    this.restoredNote = document.getElementById("restored-note");
    this.minKeptSec = FALLBACK_MIN_KEPT_S;
    this.listElement = document.getElementById("edit-list");
    this.emptyText = document.getElementById("edit-list-empty");
    this.previewButton = document.getElementById("preview-button");
    this.saveButton = document.getElementById("save-button");
    this.previewPlayer = document.getElementById("preview-player");
    this.previewAudio = document.getElementById("preview-audio");
    this.previewText = document.getElementById("preview-text");
    this.previewSegments = document.getElementById("preview-segments");
    // While set, the preview stops at this second: an excerpt's "after" plays that excerpt alone.
    this.previewStopAt = null;
    this.previewAudio.addEventListener("timeupdate", () => {
      if (this.previewStopAt !== null && this.previewAudio.currentTime >= this.previewStopAt) {
        this.previewAudio.pause();
      }
    });
    this.previewAudio.addEventListener("pause", () => {
      this.previewStopAt = null;
    });
    this.previewWhole = document.getElementById("preview-whole");
    this.previewHelp = document.getElementById("preview-whole-help");
    // The preview request's choices as the server declares them (GET /api/audio/edit/operations).
    this.previewRule = { default: "context", choices: ["context", "whole"] };
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
    this.undoButton.addEventListener("click", () => this.undo());
    this.redoButton.addEventListener("click", () => this.redo());
    window.addEventListener("beforeunload", (event) => {
      // Leaving with unsaved edits asks first (they are also kept in this browser for the next visit).
      if (this.edits.length > 0) event.preventDefault();
    });
    this.render();
    this.renderHistoryButtons();
  }

  get pendingCount() {
    return this.edits.length;
  }

  // The pending edits of a version are kept in this browser; opening the version again brings them back.
  versionShown(asset, version) {
    this.shownVersion = { assetId: asset.assetId, version: version.version };
    this.edits.durationSec = version.durationSec;
    const stored = loadPendingEdits(asset.assetId, version.version);
    this.history.clear();
    this.edits.replace(stored ? stored.edits : []);
    this.restoredNote.hidden = !stored;
    if (stored) {
      const count = stored.edits.length;
      this.restoredNote.textContent =
        `Restored ${count} pending edit${count === 1 ? "" : "s"} from your last visit (not saved yet). ` +
        "Undo removes them.";
    }
    this.previewAudio.pause();
    this.previewPlayer.hidden = true;
  }

  // Forget the pending edits of the version on screen (the user agreed to discard them).
  discard() {
    if (!this.shownVersion) return;
    savePendingEdits(this.shownVersion.assetId, this.shownVersion.version, []);
    this.history.clear();
    this.edits.replace([]);
  }

  snapshot() {
    return { edits: this.edits.toJSON(), selection: this.recording.selection ? [...this.recording.selection] : null };
  }

  // Every change to the pending edits goes through here, so it can be undone.
  change(mutate) {
    this.history.record(this.snapshot());
    this.restoredNote.hidden = true;
    mutate();
  }

  restore(state) {
    if (!state) return;
    this.edits.replace(state.edits);
    this.recording.select(state.selection);
  }

  undo() {
    if (this.jobId) return;
    const state = this.history.undo(this.snapshot());
    if (state) {
      this.restore(state);
      showBeside("edit-message", "Undone.", "info");
    }
  }

  redo() {
    if (this.jobId) return;
    const state = this.history.redo(this.snapshot());
    if (state) {
      this.restore(state);
      showBeside("edit-message", "Redone.", "info");
    }
  }

  renderHistoryButtons() {
    this.undoButton.disabled = !this.history.canUndo;
    this.redoButton.disabled = !this.history.canRedo;
  }

  // The server's edit rules: each input takes its field's range, and optional fields their server defaults.
  useRules({ operations, minKeptSec, preview }) {
    if (typeof minKeptSec === "number") this.minKeptSec = minKeptSec;
    if (preview) {
      this.previewRule = preview;
      this.previewHelp.textContent = `A preview plays ${preview.contextSec} s before and after each edit, ` +
        `excerpts joined by ${preview.gapSec} s of silence (recordings up to ${preview.wholeUnderSec} s play ` +
        "whole); tick this to hear the whole edited recording, which takes longer on a long recording.";
    }
    for (const { op, fields } of operations) {
      for (const field of fields) this.fields.set(`${op}.${field.name}`, field);
    }
    this.buildEnhanceTools(operations.filter((operation) => operation.kind === "enhance"));
    for (const [id, [op, name]] of Object.entries(INPUT_FIELDS)) {
      const field = this.fields.get(`${op}.${name}`);
      if (!field) continue;
      const input = document.getElementById(id);
      input.min = String(field.min);
      input.max = String(field.max);
    }
  }

  // One form per enhance operation, each field an input with the server's range and default (a choice of values
  // is a list), and an Add button that puts the operation with those values on the pending list.
  buildEnhanceTools(operations) {
    const container = document.getElementById("enhance-tools");
    const tools = operations.map(({ op, help, fields }) => {
      const tool = document.createElement("div");
      tool.className = "tool enhance-tool";
      const inputs = fields.map((field) => {
        const id = `enhance-${op}-${field.name}`;
        const label = document.createElement("label");
        label.htmlFor = id;
        label.textContent = `${field.help}${field.unit ? ` (${field.unit})` : ""}`;
        let input;
        if (field.choices) {
          input = document.createElement("select");
          for (const choice of field.choices) {
            const option = document.createElement("option");
            option.value = String(choice);
            option.textContent = op === "dehum" && choice === 0 ? "Find it" : `${choice} ${field.unit}`.trim();
            input.append(option);
          }
        } else {
          input = document.createElement("input");
          input.type = "number";
          input.step = "any";
          input.inputMode = "decimal";
          input.min = String(field.min);
          input.max = String(field.max);
        }
        input.id = id;
        if (field.default !== null) input.value = String(field.default);
        tool.append(label, input);
        return [field, input];
      });
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.id = `enhance-${op}-button`;
      button.textContent = `Add ${(ENHANCE_LABELS[op] ?? op).toLowerCase()}`;
      button.title = help;
      button.addEventListener("click", () => this.addEnhance(op, inputs));
      tool.append(button);
      return tool;
    });
    container.replaceChildren(...tools);
  }

  addEnhance(op, inputs) {
    const edit = { op };
    for (const [field, input] of inputs) {
      const value = Number.parseFloat(input.value);
      if (!Number.isFinite(value) || (input.checkValidity && !input.checkValidity())) {
        showBeside("tools-message", `${field.help} must be a number from ${field.min} to ${field.max}.`);
        input.focus();
        return;
      }
      edit[field.name] = value;
    }
    this.add(edit);
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
      showBeside("tools-message", `${what} must be a number${from}${to}.`);
      input.focus();
      return null;
    }
    return value;
  }

  mappedSelection() {
    const selection = this.recording.selection;
    if (!selection) {
      showBeside("selection-message", SELECT_FIRST, "info");
      return null;
    }
    const span = this.edits.mapSpan(selection[0], selection[1]);
    if (!span) showBeside("selection-message", "That span has already been cut away by a pending edit.", "info");
    return span;
  }

  add(edit) {
    hideNotice();
    this.change(() => this.edits.add(edit));
  }

  addSpanEdit(op) {
    const span = this.mappedSelection();
    if (!span) return;
    const edit = { op, start: span[0], end: span[1] };
    if (this.edits.durationWith(edit) < this.minKeptSec) {
      const what = op === "cut" ? "Cutting this span" : "Trimming to this span";
      showBeside("selection-message", `${what} would leave no audio. Select less, or undo an earlier cut.`);
      return;
    }
    hideNotice();
    this.change(() => {
      this.edits.add(edit);
      this.recording.select(null);
    });
  }

  addFade(op, inputId) {
    const duration = this.readNumber(inputId, op === "fadeIn" ? "Fade in" : "Fade out");
    if (duration === null) return;
    const length = this.edits.editedDuration();
    if (duration <= 0 || duration > length) {
      const most = formatTime(length);
      showBeside("tools-message", `A fade must last more than 0 s and at most the length of the audio (${most}).`);
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
        this.change(() => this.edits.remove(index));
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
    this.recording.showEdits(this.edits.removedRanges(), this.edits.edits);
    if (this.shownVersion) {
      savePendingEdits(this.shownVersion.assetId, this.shownVersion.version, this.edits.toJSON());
    }
  }

  async runJob(kind) {
    const version = this.recording.version;
    const assetId = this.recording.asset.assetId;
    const edits = this.edits.toJSON();
    const label = kind === "preview" ? "Preparing the preview" : "Saving a new version";
    hideNotice();
    this.previewAudio.pause();
    try {
      const whole = this.previewRule.choices.find((choice) => choice !== this.previewRule.default);
      const job = kind === "preview"
        ? await startPreview(assetId, version.version, edits,
          this.previewWhole.checked ? whole : this.previewRule.default)
        : await startSave(assetId, version.version, edits);
      this.jobId = job.jobId;
      rememberJob(job.jobId, {
        assetId,
        title: this.recording.asset.title,
        what: `${kind === "preview" ? "Preview" : "Save"} ${edits.length} edit${edits.length === 1 ? "" : "s"} ` +
          `of version ${version.version}`,
      });
      this.render();
      const last = await followJob(job, (update) => {
        this.jobsPanel.track(update);
        const { text, fraction } = progressView(label, update);
        this.jobProgress.show(text, fraction, { cancellable: true, job: update });
      });
      this.finish(kind, last, edits.length);
    } catch (error) {
      showBeside("edit-message", error.message || String(error));
    } finally {
      this.jobId = null;
      this.jobProgress.hide();
      this.render();
    }
  }

  finish(kind, job, editCount) {
    if (job.status === "cancelled") {
      showBeside("edit-message", kind === "preview" ? "The preview was cancelled." : "Saving was cancelled.", "info");
      return;
    }
    if (job.status === "failed") {
      const what = kind === "preview" ? "The preview failed" : "The new version could not be saved";
      showBeside("edit-message", `${what}: ${job.error?.message || "the server gave no reason"}`);
      return;
    }
    if (kind === "preview") {
      this.showPreview(job.result, editCount);
    } else {
      this.discard();
      this.onSaved(job.result);
    }
  }

  showPreview(result, editCount) {
    const lufs = formatNumber(result.loudness?.integratedLufs, "LUFS");
    const edits = `${editCount} edit${editCount === 1 ? "" : "s"}`;
    const segments = result.segments || [];
    const inContext = result.mode === "context";
    const what = inContext
      ? `${segments.length} excerpt${segments.length === 1 ? "" : "s"} around the edits of the ` +
        `${formatTime(result.timelineDurationSec)} edited recording`
      : "the whole edited recording";
    const saved = result.timeSavedSec > 0 ? ` Shorter pauses saved ${formatTime(result.timeSavedSec, 1)}.` : "";
    this.previewText.textContent =
      `Preview of ${edits} (${what}): ${formatTime(result.durationSec)}, ${lufs}.${saved}`;
    this.previewSegments.replaceChildren(...(inContext ? segments : []).map((segment, index) => {
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = `${formatTime(segment.start)} to ${formatTime(segment.end)} of the edited recording, ` +
        `at ${formatTime(segment.previewStart)} in the preview`;
      const before = excerptButton("Before", `Play excerpt ${index + 1} as the recording has it now, ` +
        `${formatTime(segment.sourceStart)} to ${formatTime(segment.sourceEnd)}`, () => this.playBefore(segment));
      const after = excerptButton("After", `Play excerpt ${index + 1} of the preview, with the edits`,
        () => this.playAfter(segment));
      item.append(text, " ", before, " ", after);
      return item;
    }));
    showNoteList("preview-notes", "preview-note-list", result.repairNotes || []);
    this.previewPlayer.hidden = false;
    this.previewAudio.src = result.previewUrl;
    this.recording.player.pause();
    this.previewAudio.play().catch(() => {
      this.previewText.textContent += " Press play to listen.";
    });
  }

  // An excerpt's "before": the same moment of the recording on screen, through its own player.
  playBefore(segment) {
    this.previewAudio.pause();
    this.recording.playSpan([segment.sourceStart, segment.sourceEnd]).catch(() => {});
  }

  // An excerpt's "after": its span of the preview, stopped at its end (the silence between excerpts follows).
  playAfter(segment) {
    this.recording.player.pause();
    this.previewAudio.currentTime = segment.previewStart;
    this.previewStopAt = segment.previewStart + (segment.end - segment.start);
    this.previewAudio.play().catch(() => {});
  }

  cancel() {
    if (this.jobId) this.jobsPanel.cancel(this.jobId, this.jobProgress.cancelButton);
  }
}

function excerptButton(text, label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button subtle excerpt-play";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}
