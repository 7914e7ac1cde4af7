// The waveform: a canvas drawn from peaks, inside a native horizontal scroller (so wheel, touch and scrollbar all
// scroll it). The canvas stays pinned to the visible part; a wide track behind it gives the scroller its length.
// Click seeks, drag selects, arrow keys move the playhead, Shift + arrows extend the selection.

import { binsPerSecond, envelopeAt } from "./peaks.js";
import { formatTime } from "./format.js";

const RULER_HEIGHT = 20;
const DRAG_THRESHOLD_PX = 4;
const MAX_TRACK_WIDTH_PX = 8_000_000;
const TICK_STEPS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const MIN_TICK_SPACING_PX = 80;

export class WaveformView {
  constructor({ scroller, track, canvas, onSeek, onSelect }) {
    this.scroller = scroller;
    this.track = track;
    this.canvas = canvas;
    this.onSeek = onSeek;
    this.onSelect = onSelect;
    this.peaks = null;
    this.durationSec = 0;
    this.pxPerSec = 1;
    // While fitted, the whole recording stays in view as the page is resized.
    this.fitted = true;
    this.playhead = 0;
    this.selection = null;
    this.selectionAnchor = null;
    this.removed = [];
    this.drag = null;
    this.frameRequested = false;
    this.colors = readColors(canvas);

    scroller.addEventListener("scroll", () => this.draw(), { passive: true });
    new ResizeObserver(() => this.layout()).observe(scroller);
    canvas.addEventListener("pointerdown", (event) => this.pointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.pointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.pointerUp(event));
    canvas.addEventListener("pointercancel", () => {
      this.drag = null;
    });
    canvas.addEventListener("keydown", (event) => this.keyDown(event));
  }

  setAudio(peaks, durationSec) {
    this.peaks = peaks;
    this.durationSec = durationSec;
    this.playhead = 0;
    this.selection = null;
    this.removed = [];
    this.fitted = true;
    this.layout();
    this.scroller.scrollLeft = 0;
  }

  fitPxPerSec() {
    return this.durationSec > 0 ? Math.max(1e-6, this.scroller.clientWidth / this.durationSec) : 1;
  }

  maxPxPerSec() {
    const finest = this.peaks ? binsPerSecond(this.peaks) * 8 : 1000;
    return Math.max(this.fitPxPerSec(), Math.min(finest, MAX_TRACK_WIDTH_PX / Math.max(this.durationSec, 1e-3)));
  }

  // Zoom by `factor`, keeping the playhead in place on screen when it is visible, else the middle of the view.
  zoom(factor) {
    if (!this.peaks) return;
    const viewStart = this.scroller.scrollLeft;
    const width = this.scroller.clientWidth;
    const playheadX = this.playhead * this.pxPerSec - viewStart;
    const anchorX = playheadX >= 0 && playheadX <= width ? playheadX : width / 2;
    const anchorTime = (viewStart + anchorX) / this.pxPerSec;
    this.pxPerSec = clamp(this.pxPerSec * factor, this.fitPxPerSec(), this.maxPxPerSec());
    this.fitted = this.pxPerSec <= this.fitPxPerSec();
    this.layout();
    this.scroller.scrollLeft = anchorTime * this.pxPerSec - anchorX;
    this.draw();
  }

  fit() {
    this.fitted = true;
    this.layout();
  }

  layout() {
    const width = this.scroller.clientWidth;
    if (this.fitted || this.pxPerSec < this.fitPxPerSec()) this.pxPerSec = this.fitPxPerSec();
    this.track.style.width = `${Math.max(width, Math.ceil(this.durationSec * this.pxPerSec))}px`;
    const ratio = window.devicePixelRatio || 1;
    const height = this.canvas.clientHeight;
    this.canvas.style.width = `${width}px`;
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    this.draw();
  }

  setPlayhead(seconds, { follow = false } = {}) {
    this.playhead = seconds;
    if (follow) this.keepInView(seconds);
    this.draw();
  }

  setSelection(range) {
    this.selection = range;
    this.selectionAnchor = range ? range[0] : null;
    this.draw();
  }

  setRemoved(ranges) {
    this.removed = ranges;
    this.draw();
  }

  keepInView(seconds) {
    const x = seconds * this.pxPerSec;
    const start = this.scroller.scrollLeft;
    const width = this.scroller.clientWidth;
    if (x < start || x > start + width - 8) this.scroller.scrollLeft = x - width * 0.1;
  }

  timeAtClientX(clientX) {
    const rect = this.scroller.getBoundingClientRect();
    const x = clientX - rect.left + this.scroller.scrollLeft;
    return clamp(x / this.pxPerSec, 0, this.durationSec);
  }

  pointerDown(event) {
    if (!this.peaks || event.button !== 0) return;
    // Keep the focus for the arrow keys, but stop the drag from selecting the page's text.
    event.preventDefault();
    this.canvas.focus();
    this.canvas.setPointerCapture(event.pointerId);
    this.drag = { startX: event.clientX, startTime: this.timeAtClientX(event.clientX), moved: false };
  }

  pointerMove(event) {
    if (!this.drag) return;
    if (!this.drag.moved && Math.abs(event.clientX - this.drag.startX) < DRAG_THRESHOLD_PX) return;
    this.drag.moved = true;
    const time = this.timeAtClientX(event.clientX);
    this.selection = [Math.min(time, this.drag.startTime), Math.max(time, this.drag.startTime)];
    this.selectionAnchor = this.drag.startTime;
    this.onSelect(this.selection);
    this.draw();
  }

  pointerUp(event) {
    if (!this.drag) return;
    const { moved, startTime } = this.drag;
    this.drag = null;
    if (moved) return;
    this.selection = null;
    this.selectionAnchor = null;
    this.onSelect(null);
    this.onSeek(startTime);
  }

  keyDown(event) {
    if (!this.peaks) return;
    const step = event.altKey ? 0.1 : 1;
    let target = null;
    if (event.key === "ArrowLeft") target = this.playhead - step;
    else if (event.key === "ArrowRight") target = this.playhead + step;
    else if (event.key === "Home") target = 0;
    else if (event.key === "End") target = this.durationSec;
    if (target === null) return;
    event.preventDefault();
    target = clamp(target, 0, this.durationSec);
    if (event.shiftKey) {
      const anchor = this.selectionAnchor ?? this.playhead;
      this.selection = target === anchor ? null : [Math.min(anchor, target), Math.max(anchor, target)];
      this.selectionAnchor = this.selection ? anchor : null;
      this.onSelect(this.selection);
    }
    this.onSeek(target);
  }

  draw() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.paint();
    });
  }

  paint() {
    const context = this.canvas.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.width;
    const height = this.canvas.height;
    const colors = this.colors;
    context.fillStyle = colors.background;
    context.fillRect(0, 0, width, height);
    if (!this.peaks) return;

    const viewStartSec = this.scroller.scrollLeft / this.pxPerSec;
    const secPerDevicePx = 1 / (this.pxPerSec * ratio);
    const toX = (seconds) => (seconds - viewStartSec) / secPerDevicePx;
    const rulerHeight = RULER_HEIGHT * ratio;
    const waveTop = rulerHeight;
    const waveHeight = height - rulerHeight;
    const middle = waveTop + waveHeight / 2;
    const halfHeight = waveHeight / 2 - 2 * ratio;

    if (this.selection) {
      const [a, b] = this.selection;
      context.fillStyle = colors.selection;
      context.fillRect(toX(a), waveTop, Math.max(ratio, toX(b) - toX(a)), waveHeight);
    }

    context.fillStyle = colors.axis;
    context.fillRect(0, Math.round(middle), width, Math.max(1, Math.round(ratio / 2)));

    const bins = binsPerSecond(this.peaks);
    const lastX = Math.min(width, Math.ceil(toX(this.durationSec)));
    context.fillStyle = colors.wave;
    for (let x = 0; x < lastX; x += 1) {
      const t0 = viewStartSec + x * secPerDevicePx;
      const envelope = envelopeAt(this.peaks, Math.floor(t0 * bins), Math.ceil((t0 + secPerDevicePx) * bins));
      if (!envelope) continue;
      const top = middle - envelope[1] * halfHeight;
      const bottom = middle - envelope[0] * halfHeight;
      context.fillRect(x, top, 1, Math.max(1, bottom - top));
    }

    for (const [a, b] of this.removed) {
      context.fillStyle = colors.removed;
      context.fillRect(toX(a), waveTop, toX(b) - toX(a), waveHeight);
    }

    if (this.selection) {
      context.fillStyle = colors.selectionEdge;
      for (const edge of this.selection) context.fillRect(Math.round(toX(edge)), waveTop, ratio, waveHeight);
    }

    this.paintRuler(context, viewStartSec, toX, ratio, width);

    context.fillStyle = colors.playhead;
    context.fillRect(Math.round(toX(this.playhead)) - ratio, 0, 2 * ratio, height);
  }

  paintRuler(context, viewStartSec, toX, ratio, width) {
    const colors = this.colors;
    const rulerHeight = RULER_HEIGHT * ratio;
    context.fillStyle = colors.ruler;
    context.fillRect(0, 0, width, rulerHeight);
    const step = TICK_STEPS.find((candidate) => candidate * this.pxPerSec >= MIN_TICK_SPACING_PX) ?? 3600;
    const decimals = step < 0.1 ? 2 : step < 1 ? 1 : 0;
    const viewEndSec = viewStartSec + width / (this.pxPerSec * ratio);
    context.font = `${11 * ratio}px system-ui, sans-serif`;
    context.textBaseline = "middle";
    const lastTick = Math.min(viewEndSec, this.durationSec);
    for (let index = Math.floor(viewStartSec / step); index * step <= lastTick; index += 1) {
      const t = index * step;
      const x = Math.round(toX(t));
      context.fillStyle = colors.tick;
      context.fillRect(x, rulerHeight - 6 * ratio, Math.max(1, ratio), 6 * ratio);
      context.fillStyle = colors.label;
      context.fillText(formatTime(t, decimals), x + 3 * ratio, rulerHeight / 2 - ratio);
    }
  }
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

function readColors(element) {
  const style = getComputedStyle(element);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    background: read("--wave-background", "#fbfcfd"),
    ruler: read("--wave-ruler", "#f1f4f6"),
    tick: read("--wave-tick", "#b8c2cc"),
    label: read("--wave-label", "#5b6873"),
    axis: read("--wave-axis", "#d5dde3"),
    wave: read("--wave-color", "#2f7d78"),
    removed: read("--wave-removed", "rgba(235, 238, 241, 0.85)"),
    selection: read("--wave-selection", "rgba(47, 125, 120, 0.14)"),
    selectionEdge: read("--wave-selection-edge", "#2f7d78"),
    playhead: read("--wave-playhead", "#c2410c"),
  };
}
