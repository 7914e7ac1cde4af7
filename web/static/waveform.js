// The waveform: a canvas drawn from peaks, inside a native horizontal scroller. The canvas stays pinned to the
// visible part; a wide track behind it gives the scroller its length.
// Click seeks, drag selects (with the mouse, a pen or a finger), Shift+click extends, the selection's edges are
// handles that can be dragged, arrow keys move the playhead and Shift + arrows extend the selection.
// The wheel scrolls in time; Ctrl/Cmd + wheel and pinching zoom around the pointer.

import { binsPerSecond, envelopeAt } from "./peaks.js";
import { formatNumber, formatTime, stepDecimals } from "./format.js";

const RULER_HEIGHT = 20;
const DRAG_THRESHOLD_PX = 4;
// How near an edge (in CSS pixels) a press grabs its handle; fingers are less precise than a mouse.
const HANDLE_REACH_PX = { mouse: 7, pen: 10, touch: 18 };
const HANDLE_WIDTH_PX = 8;
const HANDLE_HEIGHT_PX = 14;
const MAX_TRACK_WIDTH_PX = 8_000_000;
// Steps whose every multiple reads exactly with the decimals the step has (see stepDecimals).
const TICK_STEPS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
];
const MIN_TICK_SPACING_PX = 80;
// Finest zoom: this many screen pixels per sample, where finer peaks of the span on screen show each cycle.
const MAX_PX_PER_SAMPLE = 1;
const WHEEL_ZOOM_PER_PX = 0.002;

export class WaveformView {
  constructor({ scroller, track, canvas, onSeek, onSelect, onViewChange, onNeedDetail, onViewSpan, onPaint }) {
    this.scroller = scroller;
    this.track = track;
    this.canvas = canvas;
    this.onSeek = onSeek;
    this.onSelect = onSelect;
    this.onViewChange = onViewChange ?? (() => {});
    this.onNeedDetail = onNeedDetail ?? (() => {});
    // Told the span shown and its resolution after every zoom or scroll, to fetch finer peaks for it.
    this.onViewSpan = onViewSpan ?? (() => {});
    // Told the span shown after every paint, so what is drawn under the waveform follows it.
    this.onPaint = onPaint ?? (() => {});
    this.peaks = null;
    // Finer peaks of a span ({ peaks, samplesPerPixel, startSec, endSec }), drawn where they reach.
    this.fine = null;
    this.durationSec = 0;
    this.pxPerSec = 1;
    // The view's left edge in timeline pixels (seconds × pxPerSec). The scroller's track is at most
    // MAX_TRACK_WIDTH_PX wide, so when the timeline is wider its scroll position stands for a proportional place.
    this.offsetPx = 0;
    // While fitted, the whole recording stays in view as the page is resized.
    this.fitted = true;
    this.playhead = 0;
    this.selection = null;
    this.selectionAnchor = null;
    this.removed = [];
    this.marks = [];
    this.drag = null;
    this.touches = new Map();
    this.pinch = null;
    // Set when the user scrolls away while playing: the view stops following until the playhead is back in view.
    this.followPaused = false;
    this.expectedScrollLeft = null;
    this.frameRequested = false;
    this.colors = readColors(canvas);

    scroller.addEventListener("scroll", () => this.scrolled(), { passive: true });
    new ResizeObserver(() => this.layout()).observe(scroller);
    canvas.addEventListener("pointerdown", (event) => this.pointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.pointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.pointerUp(event));
    canvas.addEventListener("pointercancel", (event) => {
      this.touches.delete(event.pointerId);
      this.pinch = null;
      this.drag = null;
    });
    canvas.addEventListener("keydown", (event) => this.keyDown(event));
    scroller.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
  }

  setAudio(peaks, durationSec) {
    this.peaks = peaks;
    this.fine = null;
    this.durationSec = durationSec;
    this.playhead = 0;
    this.selection = null;
    this.removed = [];
    this.marks = [];
    this.fitted = true;
    this.followPaused = false;
    this.layout();
    this.scrollTo(0);
  }

  // Finer peaks of the same audio (the stored ones after coarse ones): the view stays where it is.
  setDetail(peaks) {
    this.peaks = peaks;
    this.draw();
    this.viewSpanChanged();
  }

  // Finer peaks of a span (or null when the view needs none); the coarse ones stay for everything outside it.
  setFine(detail) {
    if (detail === this.fine) return;
    this.fine = detail;
    this.draw();
  }

  viewSpanChanged() {
    if (!this.peaks) return;
    const [start, end] = this.view;
    this.onViewSpan({
      start,
      end,
      devicePxPerSec: this.pxPerSec * (window.devicePixelRatio || 1),
      sampleRate: this.peaks.sampleRate,
      durationSec: this.durationSec,
      heldSamplesPerPixel: this.peaks.samplesPerPixel,
    });
  }

  fitPxPerSec() {
    return this.durationSec > 0 ? Math.max(1e-6, this.scroller.clientWidth / this.durationSec) : 1;
  }

  maxPxPerSec() {
    const finest = this.peaks ? this.peaks.sampleRate * MAX_PX_PER_SAMPLE : 1000;
    return Math.max(this.fitPxPerSec(), finest);
  }

  contentWidth() {
    return Math.max(this.scroller.clientWidth, Math.ceil(this.durationSec * this.pxPerSec));
  }

  // Timeline pixels per pixel of the scroller's track: 1 unless the timeline is wider than the widest track.
  scrollScale() {
    const width = this.scroller.clientWidth;
    const content = this.contentWidth();
    const track = Math.min(content, MAX_TRACK_WIDTH_PX);
    return track > width ? (content - width) / (track - width) : 1;
  }

  // Zoom by `factor`, keeping the playhead in place on screen when it is visible, else the middle of the view.
  zoom(factor) {
    const width = this.scroller.clientWidth;
    const playheadX = this.playhead * this.pxPerSec - this.offsetPx;
    this.zoomAround(factor, playheadX >= 0 && playheadX <= width ? playheadX : width / 2);
  }

  // Zoom by `factor` keeping the moment under `anchorX` (CSS pixels from the view's left edge) where it is.
  zoomAround(factor, anchorX) {
    if (!this.peaks) return;
    const anchorTime = (this.offsetPx + anchorX) / this.pxPerSec;
    this.pxPerSec = clamp(this.pxPerSec * factor, this.fitPxPerSec(), this.maxPxPerSec());
    this.fitted = this.pxPerSec <= this.fitPxPerSec();
    this.layout();
    this.scrollTo(anchorTime * this.pxPerSec - anchorX);
    this.draw();
  }

  // Show `range` filling the view, with a little room either side.
  zoomTo([start, end]) {
    if (!this.peaks || end <= start) return;
    const width = this.scroller.clientWidth;
    const margin = (end - start) * 0.05;
    this.pxPerSec = clamp(width / (end - start + 2 * margin), this.fitPxPerSec(), this.maxPxPerSec());
    this.fitted = this.pxPerSec <= this.fitPxPerSec();
    this.layout();
    const middle = (start + end) / 2;
    this.scrollTo(middle * this.pxPerSec - width / 2);
    this.draw();
  }

  fit() {
    this.fitted = true;
    this.layout();
  }

  layout() {
    const width = this.scroller.clientWidth;
    if (this.fitted || this.pxPerSec < this.fitPxPerSec()) this.pxPerSec = this.fitPxPerSec();
    this.track.style.width = `${Math.min(this.contentWidth(), MAX_TRACK_WIDTH_PX)}px`;
    this.offsetPx = clamp(this.offsetPx, 0, this.contentWidth() - width);
    if (this.peaks && this.pxPerSec > binsPerSecond(this.peaks)) this.onNeedDetail();
    const ratio = window.devicePixelRatio || 1;
    const height = this.canvas.clientHeight;
    this.canvas.style.width = `${width}px`;
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    this.draw();
    this.viewSpanChanged();
  }

  // The visible span in seconds.
  get view() {
    const start = this.offsetPx / this.pxPerSec;
    return [start, Math.min(this.durationSec, start + this.scroller.clientWidth / this.pxPerSec)];
  }

  // Show the timeline from `left` (timeline pixels). A move smaller than a step of a scaled track leaves the
  // scroller where it is and fires no scroll event, so the view is redrawn here.
  scrollTo(left) {
    const width = this.scroller.clientWidth;
    this.offsetPx = clamp(Math.round(left), 0, Math.max(0, this.contentWidth() - width));
    const max = Math.max(0, this.scroller.scrollWidth - width);
    this.expectedScrollLeft = clamp(Math.round(this.offsetPx / this.scrollScale()), 0, max);
    this.scroller.scrollLeft = this.expectedScrollLeft;
    this.draw();
    this.viewSpanChanged();
  }

  // Scrolls the page did not make itself are the user's: while playing, the view then stops following.
  scrolled() {
    const byUser =
      this.expectedScrollLeft === null || Math.abs(this.scroller.scrollLeft - this.expectedScrollLeft) > 1;
    this.expectedScrollLeft = null;
    if (byUser) {
      this.offsetPx = this.scroller.scrollLeft * this.scrollScale();
      this.userScrolled();
    }
    this.draw();
    this.onViewChange();
    this.viewSpanChanged();
  }

  userScrolled() {
    const x = this.playhead * this.pxPerSec - this.offsetPx;
    this.followPaused = x < 0 || x > this.scroller.clientWidth;
  }

  setPlayhead(seconds, { follow = false } = {}) {
    this.playhead = seconds;
    if (follow && !this.followPaused) this.keepInView(seconds);
    this.draw();
  }

  // A seek or a new start of playback brings following back.
  resumeFollowing() {
    this.followPaused = false;
  }

  setSelection(range) {
    this.selection = range;
    this.selectionAnchor = range ? range[0] : null;
    this.draw();
  }

  setEdits(removed, marks) {
    this.removed = removed;
    this.marks = marks;
    this.draw();
  }

  keepInView(seconds) {
    const x = seconds * this.pxPerSec;
    const start = this.offsetPx;
    const width = this.scroller.clientWidth;
    if (x < start || x > start + width - 8) this.scrollTo(x - width * 0.1);
  }

  timeAtClientX(clientX) {
    const rect = this.scroller.getBoundingClientRect();
    const x = clientX - rect.left + this.offsetPx;
    return clamp(x / this.pxPerSec, 0, this.durationSec);
  }

  // The selection edge (0 or 1) within reach of `clientX`, or null.
  edgeNear(clientX, pointerType) {
    if (!this.selection) return null;
    const reach = HANDLE_REACH_PX[pointerType] ?? HANDLE_REACH_PX.mouse;
    const rect = this.scroller.getBoundingClientRect();
    const distances = this.selection.map((edge) =>
      Math.abs(edge * this.pxPerSec - this.offsetPx + rect.left - clientX),
    );
    const nearest = distances[0] <= distances[1] ? 0 : 1;
    return distances[nearest] <= reach ? nearest : null;
  }

  pointerDown(event) {
    if (!this.peaks || event.button !== 0) return;
    // Keep the focus for the arrow keys, but stop the drag from selecting the page's text.
    event.preventDefault();
    this.canvas.focus();
    this.canvas.setPointerCapture(event.pointerId);
    if (event.pointerType === "touch") {
      this.touches.set(event.pointerId, event.clientX);
      if (this.touches.size === 2) {
        this.drag = null;
        this.pinch = { spread: this.touchSpread(), pxPerSec: this.pxPerSec };
        return;
      }
    }
    const time = this.timeAtClientX(event.clientX);
    const edge = this.edgeNear(event.clientX, event.pointerType);
    if (edge !== null) {
      this.drag = { startX: event.clientX, startTime: this.selection[1 - edge], moved: true, handle: true };
      return;
    }
    if (event.shiftKey) {
      this.extendTo(time);
      this.drag = { startX: event.clientX, startTime: this.selectionAnchor, moved: true, handle: true };
      return;
    }
    this.drag = { startX: event.clientX, startTime: time, moved: false, handle: false };
  }

  touchSpread() {
    const [a, b] = [...this.touches.values()];
    return Math.max(1, Math.abs(a - b));
  }

  pointerMove(event) {
    if (this.pinch && this.touches.has(event.pointerId)) {
      this.touches.set(event.pointerId, event.clientX);
      const [a, b] = [...this.touches.values()];
      const middleX = (a + b) / 2 - this.scroller.getBoundingClientRect().left;
      const wanted = this.pinch.pxPerSec * (this.touchSpread() / this.pinch.spread);
      this.zoomAround(wanted / this.pxPerSec, middleX);
      return;
    }
    if (!this.drag) {
      this.canvas.style.cursor = this.edgeNear(event.clientX, event.pointerType) !== null ? "ew-resize" : "";
      return;
    }
    if (!this.drag.moved && Math.abs(event.clientX - this.drag.startX) < DRAG_THRESHOLD_PX) return;
    this.drag.moved = true;
    const time = this.timeAtClientX(event.clientX);
    this.selection = [Math.min(time, this.drag.startTime), Math.max(time, this.drag.startTime)];
    this.selectionAnchor = this.drag.startTime;
    this.onSelect(this.selection);
    this.draw();
  }

  pointerUp(event) {
    this.touches.delete(event.pointerId);
    if (this.pinch) {
      if (this.touches.size === 0) this.pinch = null;
      return;
    }
    if (!this.drag) return;
    const { moved, startTime } = this.drag;
    this.drag = null;
    if (moved) {
      if (this.selection && this.selection[1] - this.selection[0] <= 0) this.clearSelection();
      return;
    }
    this.clearSelection();
    this.onSeek(startTime);
  }

  clearSelection() {
    this.selection = null;
    this.selectionAnchor = null;
    this.onSelect(null);
    this.draw();
  }

  // Shift+click: the selection grows (or shrinks) from its anchor, or from the playhead when there is none.
  extendTo(time) {
    const anchor = this.selectionAnchor ?? this.playhead;
    this.selection = time === anchor ? null : [Math.min(anchor, time), Math.max(anchor, time)];
    this.selectionAnchor = this.selection ? anchor : null;
    this.onSelect(this.selection);
    this.draw();
  }

  wheel(event) {
    if (!this.peaks) return;
    const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
    if (event.ctrlKey || event.metaKey) {
      // Ctrl + wheel is also what a trackpad pinch sends.
      event.preventDefault();
      const anchorX = event.clientX - this.scroller.getBoundingClientRect().left;
      this.zoomAround(Math.exp(-delta * WHEEL_ZOOM_PER_PX), anchorX);
      return;
    }
    if (Math.abs(event.deltaX) >= Math.abs(event.deltaY) || event.shiftKey || this.fitted) return;
    // An upright wheel scrolls in time when there is time to scroll to.
    event.preventDefault();
    this.scrollTo(this.offsetPx + delta);
    this.userScrolled();
    this.onViewChange();
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

    const viewStartSec = this.offsetPx / this.pxPerSec;
    const secPerDevicePx = 1 / (this.pxPerSec * ratio);
    const toX = (seconds) => (seconds - viewStartSec) / secPerDevicePx;
    const rulerHeight = RULER_HEIGHT * ratio;
    const waveTop = rulerHeight;
    const waveHeight = height - rulerHeight;
    const middle = waveTop + waveHeight / 2;
    const halfHeight = waveHeight / 2 - 2 * ratio;
    const geometry = { toX, ratio, width, waveTop, waveHeight };

    if (this.selection) {
      const [a, b] = this.selection;
      context.fillStyle = colors.selection;
      context.fillRect(toX(a), waveTop, Math.max(ratio, toX(b) - toX(a)), waveHeight);
    }

    context.fillStyle = colors.axis;
    context.fillRect(0, Math.round(middle), width, Math.max(1, Math.round(ratio / 2)));

    const bins = binsPerSecond(this.peaks);
    const fine = this.fine && this.fine.samplesPerPixel < this.peaks.samplesPerPixel ? this.fine : null;
    const fineBins = fine ? binsPerSecond(fine.peaks) : 0;
    const lastX = Math.min(width, Math.ceil(toX(this.durationSec)));
    const inner = [];
    let fineColumns = 0;
    let previous = null;
    context.fillStyle = colors.wave;
    for (let x = 0; x < lastX; x += 1) {
      const t0 = viewStartSec + x * secPerDevicePx;
      const t1 = t0 + secPerDevicePx;
      let envelope;
      if (fine && t0 >= fine.startSec && t1 <= fine.endSec) {
        const from = (t0 - fine.startSec) * fineBins;
        envelope = envelopeAt(fine.peaks, Math.floor(from), Math.ceil((t1 - fine.startSec) * fineBins));
        fineColumns += 1;
      } else {
        envelope = envelopeAt(this.peaks, Math.floor(t0 * bins), Math.ceil(t1 * bins));
      }
      if (!envelope) {
        previous = null;
        continue;
      }
      // Where a column holds less than a bin, join it to its neighbour so the samples read as one line.
      const low = previous ? Math.min(envelope[0], previous[1]) : envelope[0];
      const high = previous ? Math.max(envelope[1], previous[0]) : envelope[1];
      previous = envelope;
      // Whole rows: a thin line at a fractional height would blur into two pale ones.
      const top = Math.floor(middle - high * halfHeight);
      const bottom = Math.ceil(middle - low * halfHeight);
      context.fillRect(x, top, 1, Math.max(1, bottom - top));
      inner.push(x, Math.min(envelope[2], (envelope[1] - envelope[0]) / 2));
    }
    context.fillStyle = colors.rms;
    for (let i = 0; i < inner.length; i += 2) {
      const reach = inner[i + 1] * halfHeight;
      context.fillRect(inner[i], middle - reach, 1, Math.max(1, 2 * reach));
    }

    this.paintEdits(context, geometry);
    if (this.selection) this.paintSelectionEdges(context, geometry);
    this.paintRuler(context, viewStartSec, toX, ratio, width);

    context.fillStyle = colors.playhead;
    context.fillRect(Math.round(toX(this.playhead)) - ratio, 0, 2 * ratio, height);
    // What is on screen, in words, for tests and for inspecting the page: the span shown, the ruler's labels and
    // the resolution of the peaks drawn.
    const [shownStart, shownEnd] = this.view;
    this.canvas.dataset.view = `${shownStart.toFixed(3)} ${shownEnd.toFixed(3)}`;
    this.canvas.dataset.ruler = this.rulerLabels().join(" ");
    // The finest peaks drawn: a span's, when they reach every column shown.
    const finestDrawn = fine && fineColumns >= lastX ? fine.samplesPerPixel : this.peaks.samplesPerPixel;
    this.canvas.dataset.samplesPerPixel = String(finestDrawn);
    this.onPaint(this.view);
  }

  // Cut-away spans are shaded and struck through; fades are drawn as ramps, gains as a labelled level line.
  paintEdits(context, { toX, ratio, width, waveTop, waveHeight }) {
    const colors = this.colors;
    for (const [a, b] of this.removed) {
      context.fillStyle = colors.removed;
      context.fillRect(toX(a), waveTop, toX(b) - toX(a), waveHeight);
      context.strokeStyle = colors.cut;
      context.lineWidth = 1.5 * ratio;
      context.beginPath();
      context.moveTo(toX(a), waveTop);
      context.lineTo(toX(b), waveTop + waveHeight);
      context.moveTo(toX(a), waveTop + waveHeight);
      context.lineTo(toX(b), waveTop);
      context.stroke();
    }
    context.font = `${11 * ratio}px system-ui, sans-serif`;
    context.textBaseline = "top";
    for (const mark of this.marks) {
      const [a, b] = mark.span.map(toX);
      if (b < 0 || a > width) continue;
      context.strokeStyle = colors.level;
      context.lineWidth = 2 * ratio;
      context.beginPath();
      if (mark.op === "fadeIn") {
        context.moveTo(a, waveTop + waveHeight);
        context.lineTo(b, waveTop + 2 * ratio);
      } else if (mark.op === "fadeOut") {
        context.moveTo(a, waveTop + 2 * ratio);
        context.lineTo(b, waveTop + waveHeight);
      } else {
        const y = waveTop + 4 * ratio;
        context.moveTo(a, y);
        context.lineTo(b, y);
        context.fillStyle = colors.level;
        const label = `${mark.db > 0 ? "+" : ""}${formatNumber(mark.db, "dB")}`;
        context.fillText(label, Math.max(a, 0) + 3 * ratio, y + 2 * ratio);
      }
      context.stroke();
    }
  }

  // The edges with grab handles, and the selection's length above it.
  paintSelectionEdges(context, { toX, ratio, waveTop, waveHeight }) {
    const colors = this.colors;
    context.fillStyle = colors.selectionEdge;
    for (const edge of this.selection) {
      const x = Math.round(toX(edge));
      context.fillRect(x, waveTop, ratio, waveHeight);
      const handleWidth = HANDLE_WIDTH_PX * ratio;
      const handleHeight = HANDLE_HEIGHT_PX * ratio;
      for (const y of [waveTop, waveTop + waveHeight - handleHeight]) {
        context.fillRect(x - handleWidth / 2, y, handleWidth, handleHeight);
      }
    }
    const [a, b] = this.selection.map(toX);
    const label = `${formatTime(this.selection[1] - this.selection[0], 3)} selected`;
    context.font = `${11 * ratio}px system-ui, sans-serif`;
    context.textBaseline = "top";
    const textWidth = context.measureText(label).width;
    const x = clamp((a + b) / 2 - textWidth / 2, 2 * ratio, this.canvas.width - textWidth - 2 * ratio);
    context.fillStyle = colors.labelBackground;
    context.fillRect(x - 3 * ratio, waveTop + 3 * ratio, textWidth + 6 * ratio, 15 * ratio);
    context.fillStyle = colors.selectionEdge;
    context.fillText(label, x, waveTop + 5 * ratio);
  }

  // The tick step at the current zoom, and how many decimals make its labels exact.
  tickStep() {
    const step = TICK_STEPS.find((candidate) => candidate * this.pxPerSec >= MIN_TICK_SPACING_PX) ?? 3600;
    return { step, decimals: stepDecimals(step) };
  }

  // The labels the ruler shows for the visible span (the tests read them).
  rulerLabels() {
    const { step, decimals } = this.tickStep();
    const [start, end] = this.view;
    const labels = [];
    for (let index = Math.ceil(start / step - 1e-9); index * step <= end + 1e-9; index += 1) {
      labels.push(formatTime(index * step, decimals));
    }
    return labels;
  }

  paintRuler(context, viewStartSec, toX, ratio, width) {
    const colors = this.colors;
    const rulerHeight = RULER_HEIGHT * ratio;
    context.fillStyle = colors.ruler;
    context.fillRect(0, 0, width, rulerHeight);
    const { step, decimals } = this.tickStep();
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
    labelBackground: read("--wave-label-background", "rgba(255, 255, 255, 0.9)"),
    axis: read("--wave-axis", "#d5dde3"),
    wave: read("--wave-color", "#2f7d78"),
    rms: read("--wave-rms", "#1b4f4c"),
    removed: read("--wave-removed", "rgba(235, 238, 241, 0.85)"),
    cut: read("--wave-cut", "rgba(155, 44, 44, 0.55)"),
    level: read("--wave-level", "#b45309"),
    selection: read("--wave-selection", "rgba(47, 125, 120, 0.14)"),
    selectionEdge: read("--wave-selection-edge", "#2f7d78"),
    playhead: read("--wave-playhead", "#c2410c"),
  };
}
