// The pending edit list of the version on screen: what will be previewed or saved, in order.
// Spans are chosen on the saved audio's waveform and stored on the edited timeline, as the server expects.

import { formatNumber, formatTime } from "./format.js";
import { editedDuration, keptSegments, removedRanges, toEditedTime } from "./timeline.js";

// Milliseconds are finer than anyone selects by hand, and keep the JSON short.
const roundMs = (seconds) => Math.round(seconds * 1000) / 1000;

export class EditList {
  constructor(onChange) {
    this.onChange = onChange;
    this.edits = [];
    this.durationSec = 0;
  }

  get length() {
    return this.edits.length;
  }

  toJSON() {
    return this.edits.map((edit) => ({ ...edit }));
  }

  segments() {
    return keptSegments(this.edits, this.durationSec);
  }

  removedRanges() {
    return removedRanges(this.segments(), this.durationSec);
  }

  editedDuration() {
    return editedDuration(this.segments());
  }

  // A span of the saved audio, as a span of the edited timeline; null when nothing of it is left.
  mapSpan(start, end) {
    const segments = this.segments();
    const limit = Math.floor(editedDuration(segments) * 1000) / 1000;
    const mappedStart = Math.min(limit, roundMs(toEditedTime(segments, start)));
    const mappedEnd = Math.min(limit, roundMs(toEditedTime(segments, end)));
    return mappedEnd > mappedStart ? [mappedStart, mappedEnd] : null;
  }

  add(edit) {
    this.edits.push(edit);
    this.onChange();
  }

  replace(edits) {
    this.edits = edits.map((edit) => ({ ...edit }));
    this.onChange();
  }

  // What would be left of the audio with `edit` added; a trim or cut may not leave less than minKeptSec.
  durationWith(edit) {
    return editedDuration(keptSegments([...this.edits, edit], this.durationSec));
  }

  remove(index) {
    this.edits.splice(index, 1);
    this.onChange();
  }

  // Edits whose effect on the timeline is only known once the audio is read: spans after them count on the
  // timeline they leave.
  hasTrimSilenceBefore(index) {
    return this.edits.slice(0, index).some((edit) => edit.op === "trimSilence" || edit.op === "shortenPauses");
  }
}

export function describeEdit(edit) {
  const span = (e) => `${formatTime(e.start, 2)} – ${formatTime(e.end, 2)}`;
  switch (edit.op) {
    case "trim":
      return `Trim to ${span(edit)}`;
    case "cut":
      return `Cut ${span(edit)}`;
    case "gain":
      return edit.start === undefined
        ? `Gain ${formatNumber(edit.db, "dB")} on everything`
        : `Gain ${formatNumber(edit.db, "dB")} on ${span(edit)}`;
    case "fadeIn":
      return `Fade in over ${formatNumber(edit.duration, "s", 2)}`;
    case "fadeOut":
      return `Fade out over ${formatNumber(edit.duration, "s", 2)}`;
    case "normalize":
      return `Normalize to ${formatNumber(edit.targetLufs, "LUFS")}` +
        (edit.truePeakDb === undefined ? "" : `, peak ≤ ${formatNumber(edit.truePeakDb, "dBTP")}`);
    case "trimSilence":
      return `Trim silence below ${formatNumber(edit.thresholdDb, "dB", 0)} at both ends`;
    case "highpass":
      return `Highpass at ${formatNumber(edit.frequency ?? 80, "Hz", 0)}`;
    case "dehum":
      return edit.frequency ? `Remove ${formatNumber(edit.frequency, "Hz", 0)} hum` : "Remove hum (50 or 60 Hz, found)";
    case "denoise":
      return `Denoise${edit.reductionDb === undefined ? "" : ` by up to ${formatNumber(edit.reductionDb, "dB", 0)}`}`;
    case "deess":
      return `De-ess${edit.intensity === undefined ? "" : ` at ${edit.intensity.toFixed(2)}`}`;
    case "level":
      return `Level speakers${edit.maxGainDb === undefined ? "" : ` (±${formatNumber(edit.maxGainDb, "dB", 0)})`}`;
    case "shortenPauses":
      return `Shorten pauses over ${formatNumber(edit.minPause ?? 1, "s", 2)} to ${formatNumber(edit.keepPause ?? 0.5, "s", 2)}`;
    default:
      return edit.op;
  }
}
