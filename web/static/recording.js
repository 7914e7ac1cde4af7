// The recording on screen: its versions, figures, waveform, playback and the selected span.

import { getAsset, getPeaks } from "./api.js";
import { formatNumber, formatTime } from "./format.js";
import { targetNote } from "./loudness.js";
import { parsePeaks } from "./peaks.js";
import { Player } from "./player.js";
import { WaveformView } from "./waveform.js";

const ZOOM_STEP = 2;
const CHANNEL_NAMES = { 1: "mono", 2: "stereo" };

export class RecordingView {
  constructor({ onVersionShown, onError }) {
    this.onVersionShown = onVersionShown;
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
    this.asset = null;
    this.version = null;
    this.selection = null;
    this.preset = null;
    this.loadToken = 0;

    this.waveform = new WaveformView({
      scroller: document.getElementById("wave-scroller"),
      track: document.getElementById("wave-track"),
      canvas: document.getElementById("wave-canvas"),
      onSeek: (seconds) => {
        this.player.seek(seconds);
        this.waveform.keepInView(seconds);
      },
      onSelect: (range) => this.showSelection(range),
    });
    this.player = new Player(document.getElementById("audio"), {
      onTime: (seconds, playing) => {
        this.waveform.setPlayhead(seconds, { follow: playing });
        this.showTime(seconds);
      },
      onStateChange: (playing) => {
        this.playButton.textContent = playing ? "Pause" : "Play";
      },
      onError: (error) => this.onError(error),
    });

    this.playButton.addEventListener("click", () => this.togglePlay());
    document.getElementById("zoom-in").addEventListener("click", () => this.waveform.zoom(ZOOM_STEP));
    document.getElementById("zoom-out").addEventListener("click", () => this.waveform.zoom(1 / ZOOM_STEP));
    document.getElementById("zoom-fit").addEventListener("click", () => this.waveform.fit());
    document.getElementById("selection-clear").addEventListener("click", () => this.select(null));
    this.versionSelect.addEventListener("change", () => this.showVersion(Number(this.versionSelect.value)));
    for (const input of [this.selectionStart, this.selectionEnd]) {
      input.addEventListener("change", () => this.selectionTyped());
    }
  }

  get durationSec() {
    return this.version ? this.version.durationSec : 0;
  }

  async open(assetId, versionNumber = null) {
    const asset = await getAsset(assetId);
    this.asset = asset;
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
    this.version = version;
    this.versionSelect.value = String(number);
    this.showFacts(version);
    this.select(null);
    this.player.load(version.audioUrl);
    this.showTime(0);
    this.waveLoading.hidden = false;
    history.replaceState(null, "", `#asset=${encodeURIComponent(this.asset.assetId)}&version=${number}`);
    try {
      const json = await getPeaks(version.peaksUrl);
      if (token !== this.loadToken) return;
      this.waveform.setAudio(parsePeaks(json), version.durationSec);
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
    this.showTargetNote();
  }

  setPreset(preset) {
    this.preset = preset;
    this.showTargetNote();
  }

  showTargetNote() {
    const note = targetNote(this.version?.loudness, this.preset);
    this.targetNoteElement.textContent = note.text;
    this.targetNoteElement.classList.toggle("miss", !note.met);
  }

  async togglePlay() {
    if (!this.version) return;
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
    this.selectionStart.value = start.toFixed(2);
    this.selectionEnd.value = end.toFixed(2);
    const length = (end - start).toFixed(2);
    this.selectionText.textContent = `Selected ${formatTime(start, 2)} – ${formatTime(end, 2)} (${length} s)`;
  }

  selectionTyped() {
    const start = Number.parseFloat(this.selectionStart.value);
    const end = Number.parseFloat(this.selectionEnd.value);
    if (!Number.isFinite(start) || !Number.isFinite(end)) return;
    const low = Math.max(0, Math.min(start, end));
    const high = Math.min(this.durationSec, Math.max(start, end));
    this.select(high > low ? [low, high] : null);
  }

  showRemoved(ranges) {
    this.waveform.setRemoved(ranges);
  }
}
