// The loudness strip under the waveform: short-term loudness (3 s window, EBU R128) over the span the waveform
// shows, with the export preset's integrated target as a line. The values come with the peaks
// (`short_term_loudness`, measured when the version was made), one every `hop_s` seconds.

import { formatNumber } from "./format.js";

// The strip's scale: speech sits well inside it, and everything quieter than its floor reads as silence.
const FLOOR_LUFS = -50;
const TOP_LUFS = -5;

export class LoudnessStrip {
  constructor({ canvas, caption }) {
    this.canvas = canvas;
    this.caption = caption;
    this.series = null;
    this.target = null;
    this.targetLabel = "";
    this.view = [0, 0];
    const style = getComputedStyle(canvas);
    const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    this.colors = {
      background: read("--strip-background", "#fbfcfd"),
      fill: read("--strip-fill", "#7a5aa6"),
      target: read("--strip-target", "#b45309"),
      grid: read("--strip-grid", "#d5dde3"),
    };
  }

  // The `short_term_loudness` of a peaks document, or null when the version was made before it was stored.
  setSeries(series) {
    this.series = series && Array.isArray(series.lufs) ? series : null;
    this.canvas.closest(".loudness-strip-block").hidden = !this.series;
    this.paint();
  }

  setTarget(lufs, label) {
    this.target = Number.isFinite(lufs) ? lufs : null;
    this.targetLabel = label || "";
    this.paint();
  }

  draw(view) {
    this.view = view;
    this.paint();
  }

  paint() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext("2d");
    context.fillStyle = this.colors.background;
    context.fillRect(0, 0, width, height);
    this.describe();
    if (!this.series) return;
    const [start, end] = this.view;
    if (!(end > start)) return;
    const toY = (lufs) => height - ((Math.min(TOP_LUFS, lufs) - FLOOR_LUFS) / (TOP_LUFS - FLOOR_LUFS)) * height;
    context.fillStyle = this.colors.grid;
    for (let lufs = -40; lufs <= -10; lufs += 10) context.fillRect(0, Math.round(toY(lufs)), width, 1);

    const { lufs: values, hop_s: hop } = this.series;
    const secPerPx = (end - start) / width;
    context.fillStyle = this.colors.fill;
    for (let x = 0; x < width; x += 1) {
      // The loudest value within the pixel's span, so a short loud passage stays visible when zoomed out.
      const from = Math.max(0, Math.round((start + x * secPerPx) / hop));
      const to = Math.min(values.length, Math.max(from + 1, Math.round((start + (x + 1) * secPerPx) / hop)));
      let loudest = null;
      for (let i = from; i < to; i += 1) {
        if (values[i] !== null && (loudest === null || values[i] > loudest)) loudest = values[i];
      }
      if (loudest === null || loudest <= FLOOR_LUFS) continue;
      const top = toY(loudest);
      context.fillRect(x, top, 1, height - top);
    }
    if (this.target !== null) {
      context.fillStyle = this.colors.target;
      const y = Math.round(toY(this.target));
      for (let x = 0; x < width; x += 8 * ratio) context.fillRect(x, y - ratio, 5 * ratio, 2 * ratio);
    }
  }

  // What the strip shows, in words: for screen readers, and for tests through its data attributes.
  describe() {
    const target = this.target === null ? null : `${this.targetLabel} target ${formatNumber(this.target, "LUFS")}`;
    const label = "Short-term loudness (3 s window) over the span shown";
    this.canvas.setAttribute("aria-label", target ? `${label}; the dashed line is the ${target}.` : `${label}.`);
    this.caption.textContent = "Loudness over time (short-term, 3 s)" + (target ? `; dashed line: ${target}` : "");
    this.canvas.dataset.target = this.target === null ? "" : String(this.target);
    this.canvas.dataset.values = this.series ? String(this.series.lufs.length) : "0";
    this.canvas.dataset.view = `${this.view[0].toFixed(3)} ${this.view[1].toFixed(3)}`;
  }
}
