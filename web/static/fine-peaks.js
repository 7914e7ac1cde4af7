// Finer peaks for the span on screen, when the view is zoomed in past the peaks the page holds: asked of the
// server (decoded from the version's master) a moment after the view settles, the request abandoned when the view
// moves on, the answers kept for going back. The waveform draws them over the coarse peaks where they reach and
// the coarse ones everywhere else, so nothing waits for them.

import { parsePeaks } from "./peaks.js";

// Wait this long after the last zoom or scroll before asking, so a drag or a wheel spin asks once.
const DEBOUNCE_MS = 150;
// Spans kept per version.
const CACHE_ENTRIES = 12;

export class FinePeaks {
  // `fetchSpan(span, signal)` answers a span's peaks document; `fetchLimits()` the server's span limits;
  // `onReady(detail)` hands a span's parsed peaks to the waveform.
  constructor({ fetchSpan, fetchLimits, onReady, onError }) {
    this.fetchSpan = fetchSpan;
    this.fetchLimits = fetchLimits;
    this.onReady = onReady;
    this.onError = onError;
    this.limits = null;
    this.reset();
  }

  // A new version: nothing cached applies to it.
  reset() {
    this.abort();
    this.cache = new Map();
    this.timer = null;
  }

  abort() {
    clearTimeout(this.timer);
    this.controller?.abort();
    this.controller = null;
  }

  // The view shows [start, end] seconds at `devicePxPerSec` device pixels per second, drawn from peaks of
  // `heldSamplesPerPixel`: ask for finer ones when those are too coarse for the screen.
  viewChanged({ start, end, devicePxPerSec, sampleRate, durationSec, heldSamplesPerPixel }) {
    const wanted = 2 ** Math.max(0, Math.floor(Math.log2(sampleRate / devicePxPerSec)));
    if (wanted >= heldSamplesPerPixel) {
      this.abort();
      this.onReady(null);
      return;
    }
    const cached = this.covering(start, end, wanted);
    if (cached) {
      this.abort();
      this.onReady(cached);
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(start, end, wanted, sampleRate, durationSec), DEBOUNCE_MS);
  }

  covering(start, end, samplesPerPixel) {
    for (const detail of this.cache.values()) {
      if (detail.samplesPerPixel === samplesPerPixel && detail.startSec <= start && detail.endSec >= end) {
        return detail;
      }
    }
    return null;
  }

  async load(start, end, samplesPerPixel, sampleRate, durationSec) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      this.limits ??= await this.fetchLimits();
      // Half a view either side, so a little scrolling needs no new request, within what one request may cover.
      const width = end - start;
      const longest = Math.min(this.limits.maxSpanSeconds, (this.limits.maxPixels * samplesPerPixel) / sampleRate);
      const reach = Math.min(2 * width, longest * 0.99);
      const middle = (start + end) / 2;
      const from = Math.max(0, Math.min(middle - reach / 2, durationSec - reach));
      const span = { start: from, end: Math.min(durationSec, from + reach), samplesPerPixel };
      const json = await this.fetchSpan(span, controller.signal);
      if (controller.signal.aborted) return;
      const parsed = parsePeaks(json);
      const startSec = json.start_frame / json.sample_rate;
      const detail = {
        peaks: parsed,
        samplesPerPixel,
        startSec,
        endSec: startSec + parsed.durationSec,
      };
      this.cache.set(`${samplesPerPixel} ${json.start_frame}`, detail);
      if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value);
      this.onReady(detail);
    } catch (error) {
      if (!controller.signal.aborted) this.onError(error);
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }
}
