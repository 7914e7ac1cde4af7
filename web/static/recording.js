// The recording on screen: its versions, figures, waveform, playback and the selected span.

import { getAsset, getPeakSpanLimits, getPeaks, getSpanPeaks } from "./api.js";
import { FinePeaks } from "./fine-peaks.js";
import { formatNumber, formatTime, parseTime } from "./format.js";
import { LoudnessStrip } from "./loudness-strip.js";
import { targetNote } from "./loudness.js";
import { rememberRecording } from "./memory.js";
import { SELECT_FIRST, showBeside, showNoteList } from "./notice.js";
import { coarsePeaksUrl, parsePeaks } from "./peaks.js";
import { Player } from "./player.js";
import { levelMarks } from "./timeline.js";
import { WaveformView } from "./waveform.js";

const ZOOM_STEP = 2;
const CHANNEL_NAMES = { 1: "mono", 2: "stereo" };

export class RecordingView {
  constructor({ onVersionShown, onError, canLeaveVersion }) {
    this.onVersionShown = onVersionShown;
    this.canLeaveVersion = canLeaveVersion;
    this.onError = onError;
    this.section = document.getElementById("editor");
    this.heading = document.getElementById("editor-heading");
    this.versionSelect = document.getElementById("version-select");
    this.playButton = document.getElementById("play-button");
    this.timeDisplay = document.getElementById("time-display");
    this.targetNoteElement = document.getElementById("target-note");
    this.waveLoading = document.getElementById("wave-loading");
    this.selectionStart = document.getElementById("selection-start");
    this.selectionEnd = document.getElementById("selection-end");
    this.selectionText = document.getElementById("selection-text");
    this.playSelectionButton = document.getElementById("play-selection");
    this.loopInput = document.getElementById("loop-selection");
    this.scrollInput = document.getElementById("wave-scroll");
    // While set, playback keeps to this span (and starts over at its end when looping).
    this.playingSpan = null;
    this.asset = null;
    this.version = null;
    this.selection = null;
    this.preset = null;
    this.loadToken = 0;

    this.loudnessStrip = new LoudnessStrip({
      canvas: document.getElementById("loudness-strip"),
      caption: document.getElementById("loudness-strip-caption"),
    });
    this.waveform = new WaveformView({
      scroller: document.getElementById("wave-scroller"),
      track: document.getElementById("wave-track"),
      canvas: document.getElementById("wave-canvas"),
      onSeek: (seconds) => {
        this.playingSpan = null;
        this.waveform.resumeFollowing();
        this.player.seek(seconds);
        this.waveform.keepInView(seconds);
      },
      onSelect: (range) => this.showSelection(range),
      onViewChange: () => this.showScrollPosition(),
      onNeedDetail: () => this.loadDetail(),
      onViewSpan: (view) => this.finePeaks.viewChanged(view),
      onPaint: (view) => this.loudnessStrip.draw(view),
    });
    this.detailUrl = null;
    this.finePeaks = new FinePeaks({
      fetchSpan: (span, signal) => getSpanPeaks(this.asset.assetId, this.version.version, span, signal),
      fetchLimits: getPeakSpanLimits,
      onReady: (detail) => this.waveform.setFine(detail),
      onError: (error) => this.onError(error),
    });
    this.player = new Player(document.getElementById("audio"), {
      onTime: (seconds, playing) => {
        if (playing && this.playingSpan && seconds >= this.playingSpan[1]) {
          if (this.loopInput.checked) {
            this.player.seek(this.playingSpan[0]);
          } else {
            this.player.pause();
            this.playingSpan = null;
          }
          return;
        }
        this.waveform.setPlayhead(seconds, { follow: playing });
        this.showTime(seconds);
      },
      onStateChange: (playing) => {
        this.playButton.textContent = playing ? "Pause" : "Play";
        if (!playing) this.playingSpan = null;
      },
      onError: (error) => this.onError(error),
    });

    this.playButton.addEventListener("click", () => this.togglePlay());
    document.getElementById("zoom-in").addEventListener("click", () => this.waveform.zoom(ZOOM_STEP));
    document.getElementById("zoom-out").addEventListener("click", () => this.waveform.zoom(1 / ZOOM_STEP));
    document.getElementById("zoom-fit").addEventListener("click", () => this.waveform.fit());
    document.getElementById("zoom-selection").addEventListener("click", () => this.zoomToSelection());
    document.getElementById("selection-clear").addEventListener("click", () => this.select(null));
    this.playSelectionButton.addEventListener("click", () => this.playSelection());
    this.scrollInput.addEventListener("input", () => {
      const scroller = this.waveform.scroller;
      scroller.scrollLeft = (Number(this.scrollInput.value) / 1000) * (scroller.scrollWidth - scroller.clientWidth);
    });
    this.versionSelect.addEventListener("change", () => {
      const wanted = Number(this.versionSelect.value);
      if (!this.canLeaveVersion()) {
        this.versionSelect.value = String(this.version.version);
        return;
      }
      this.showVersion(wanted);
    });
    for (const input of [this.selectionStart, this.selectionEnd]) {
      input.addEventListener("change", () => this.selectionTyped());
    }
  }

  // Play the selection from its start; it stops at the end, or starts over when looping.
  async playSelection() {
    if (!this.selection) {
      showBeside("selection-message", SELECT_FIRST, "info");
      return;
    }
    await this.playSpan([...this.selection]);
  }

  // Play seconds `span[0]` to `span[1]` of the version on screen (a preview excerpt's "before", too).
  async playSpan(span) {
    this.player.seek(span[0]);
    this.waveform.resumeFollowing();
    this.playingSpan = span;
    if (!this.player.playing) await this.togglePlay();
    this.playingSpan = span;
  }

  // The stored peaks, once, when the view is zoomed in past what the coarse ones show.
  async loadDetail() {
    const url = this.detailUrl;
    if (!url) return;
    this.detailUrl = null;
    const token = this.loadToken;
    try {
      const json = await getPeaks(url);
      if (token === this.loadToken) this.waveform.setDetail(parsePeaks(json));
    } catch (error) {
      this.onError(error);
    }
  }

  zoomToSelection() {
    if (this.selection) this.waveform.zoomTo(this.selection);
    else showBeside("selection-message", "Select a span to zoom to it.", "info");
  }

  // The scroll slider: the phone's way to move along the recording, since dragging on the waveform selects.
  showScrollPosition() {
    const scroller = this.waveform.scroller;
    const room = scroller.scrollWidth - scroller.clientWidth;
    this.scrollInput.disabled = room <= 0;
    this.scrollInput.value = String(room > 0 ? Math.round((scroller.scrollLeft / room) * 1000) : 0);
    const [start, end] = this.waveform.view;
    this.scrollInput.setAttribute("aria-valuetext", `${formatTime(start)} to ${formatTime(end)}`);
  }

  get durationSec() {
    return this.version ? this.version.durationSec : 0;
  }

  // The recording is gone (deleted): nothing of it stays on screen.
  close() {
    this.player.pause();
    this.playingSpan = null;
    this.asset = null;
    this.version = null;
    this.selection = null;
    this.section.hidden = true;
    document.title = "audioprep";
  }

  async open(assetId, versionNumber = null) {
    const asset = await getAsset(assetId);
    this.asset = asset;
    rememberRecording(asset.assetId, asset.title || "Recording");
    this.heading.textContent = asset.title || "Recording";
    document.title = `${this.heading.textContent} · audioprep`;
    this.section.hidden = false;
    this.versionSelect.replaceChildren(
      ...asset.versions.map((version) => {
        const option = document.createElement("option");
        option.value = String(version.version);
        const origin = version.baseVersion ? `edited from ${version.baseVersion}` : "original";
        option.textContent = `Version ${version.version}: ${origin}, ${formatTime(version.durationSec)}`;
        return option;
      }),
    );
    const latest = asset.versions[asset.versions.length - 1].version;
    const wanted = asset.versions.some((v) => v.version === versionNumber) ? versionNumber : latest;
    await this.showVersion(wanted);
  }

  async showVersion(number) {
    const version = this.asset.versions.find((candidate) => candidate.version === number);
    const token = ++this.loadToken;
    this.finePeaks.reset();
    this.version = version;
    this.versionSelect.value = String(number);
    this.showFacts(version);
    this.select(null);
    this.player.load(version.audioUrl);
    this.showTime(0);
    this.waveLoading.hidden = false;
    history.replaceState(null, "", `#asset=${encodeURIComponent(this.asset.assetId)}&version=${number}`);
    // A long recording is painted from coarse peaks first; the stored ones follow when the user zooms in.
    const coarseUrl = coarsePeaksUrl(version.peaksUrl, version.durationSec, version.sampleRate);
    this.detailUrl = coarseUrl ? version.peaksUrl : null;
    try {
      const json = await getPeaks(coarseUrl ?? version.peaksUrl);
      if (token !== this.loadToken) return;
      this.loudnessStrip.setSeries(json.short_term_loudness ?? null);
      this.waveform.setAudio(parsePeaks(json), version.durationSec);
      this.showScrollPosition();
    } catch (error) {
      this.onError(error);
    } finally {
      if (token === this.loadToken) this.waveLoading.hidden = true;
    }
    this.section.dataset.version = String(number);
    this.onVersionShown(this.asset, version);
  }

  showFacts(version) {
    const set = (id, text) => {
      document.getElementById(id).textContent = text;
    };
    const loudness = version.loudness || {};
    const channels = CHANNEL_NAMES[version.channels] || `${version.channels} channels`;
    set("fact-duration", formatTime(version.durationSec, 2));
    const container = (version.format || version.codec || "audio").toUpperCase();
    set("fact-format", `${container}, ${version.sampleRate / 1000} kHz, ${channels}`);
    set("fact-lufs", formatNumber(loudness.integratedLufs, "LUFS"));
    set("fact-peak", formatNumber(loudness.truePeakDbtp, "dBTP"));
    set("fact-rms", formatNumber(loudness.rmsDb, "dB"));
    set("fact-lra", formatNumber(loudness.loudnessRangeLu, "LU"));
    this.showUnmeasured(loudness.unmeasured || {});
    this.showSourceWarnings();
    // What this version's repairs did (e.g. that dehum found no hum) belongs to the version shown.
    showNoteList("repair-notes", "repair-note-list", version.repairNotes || []);
    this.showTargetNote();
  }

  // Why a figure shows no value, in the server's words (e.g. audio shorter than the loudness range's window).
  showUnmeasured(unmeasured) {
    const names = { integratedLufs: "Loudness", loudnessRangeLu: "Loudness range" };
    const lines = Object.entries(unmeasured).map(([key, reason]) => `${names[key] || key}: ${reason}`);
    const note = document.getElementById("unmeasured-note");
    note.textContent = lines.join(" ");
    note.hidden = lines.length === 0;
    document.getElementById("fact-lra").title = unmeasured.loudnessRangeLu || "";
  }

  // Damage found when the recording was imported belongs to the asset: every later version is made from it.
  showSourceWarnings() {
    const imported = this.asset.versions.reduce((first, v) => (v.version < first.version ? v : first));
    showNoteList("source-warnings", "source-warning-list", imported.warnings || []);
  }

  setPreset(preset) {
    this.preset = preset;
    this.loudnessStrip.setTarget(preset?.targets.integratedLufs ?? null, preset?.label);
    this.showTargetNote();
  }

  showTargetNote() {
    const note = targetNote(this.version?.loudness, this.preset);
    this.targetNoteElement.textContent = note.text;
    this.targetNoteElement.classList.toggle("miss", !note.met);
  }

  async togglePlay() {
    if (!this.version) return;
    this.waveform.resumeFollowing();
    try {
      await this.player.toggle();
    } catch (error) {
      // Switching versions interrupts a play that had not started yet; that is no failure.
      if (error.name !== "AbortError") this.onError(new Error(`Playback did not start: ${error.message}`));
    }
  }

  zoom(direction) {
    this.waveform.zoom(direction > 0 ? ZOOM_STEP : 1 / ZOOM_STEP);
  }

  showTime(seconds) {
    const text = `${formatTime(seconds)} / ${formatTime(this.durationSec)}`;
    if (this.timeDisplay.textContent === text) return;
    this.timeDisplay.textContent = text;
    const canvas = this.waveform.canvas;
    canvas.setAttribute("aria-valuemax", this.durationSec.toFixed(1));
    canvas.setAttribute("aria-valuenow", seconds.toFixed(1));
    canvas.setAttribute("aria-valuetext", `${formatTime(seconds)} of ${formatTime(this.durationSec)}`);
  }

  select(range) {
    this.waveform.setSelection(range);
    this.showSelection(range);
  }

  showSelection(range) {
    this.selection = range;
    if (!range) {
      this.selectionStart.value = "";
      this.selectionEnd.value = "";
      this.selectionText.textContent = "Nothing selected";
      return;
    }
    const [start, end] = range;
    this.selectionStart.value = start.toFixed(3);
    this.selectionEnd.value = end.toFixed(3);
    const length = (end - start).toFixed(2);
    this.selectionText.textContent = `Selected ${formatTime(start, 2)} – ${formatTime(end, 2)} (${length} s)`;
  }

  // Start and end take seconds ("75.5") or a clock time ("1:15.5", "0:01:15.500").
  selectionTyped() {
    const start = parseTime(this.selectionStart.value);
    const end = parseTime(this.selectionEnd.value);
    for (const [input, value] of [[this.selectionStart, start], [this.selectionEnd, end]]) {
      const wrong = input.value.trim() !== "" && value === null;
      input.setAttribute("aria-invalid", String(wrong));
      if (wrong) {
        showBeside("selection-message", `“${input.value}” is not a time: type seconds (75.5) or h:mm:ss.mmm.`);
      }
    }
    if (start === null || end === null) return;
    const low = Math.max(0, Math.min(start, end));
    const high = Math.min(this.durationSec, Math.max(start, end));
    this.select(high > low ? [low, high] : null);
  }

  showEdits(removed, edits) {
    this.waveform.setEdits(removed, levelMarks(edits, this.durationSec));
  }
}
