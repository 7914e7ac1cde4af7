// Peaks in the audiowaveform JSON format (version 2): min/max pairs per pixel, channels interleaved.
// The channels are merged into one envelope scaled to -1..1, and a pyramid of coarser levels (each half the
// length of the one before) is built so drawing any zoom level looks at a handful of bins per screen pixel.
// Each level also keeps the sum of squared half-ranges of its bins: their root mean square is a quieter inner
// layer (an RMS estimate) that shows pauses and loud passages even where every pixel spans many peaks.

export function parsePeaks(json) {
  const channels = Math.max(1, json.channels || 1);
  const scale = json.bits === 8 ? 128 : 32768;
  const length = json.length ?? Math.floor(json.data.length / (2 * channels));
  const min = new Float32Array(length);
  const max = new Float32Array(length);
  const data = json.data;
  for (let i = 0; i < length; i += 1) {
    let low = Infinity;
    let high = -Infinity;
    const base = i * 2 * channels;
    for (let c = 0; c < channels; c += 1) {
      low = Math.min(low, data[base + 2 * c]);
      high = Math.max(high, data[base + 2 * c + 1]);
    }
    min[i] = low / scale;
    max[i] = high / scale;
  }
  return {
    sampleRate: json.sample_rate,
    samplesPerPixel: json.samples_per_pixel,
    levels: buildLevels(min, max),
    durationSec: (length * json.samples_per_pixel) / json.sample_rate,
  };
}

function buildLevels(min, max) {
  const squares = new Float64Array(min.length);
  for (let i = 0; i < min.length; i += 1) squares[i] = ((max[i] - min[i]) / 2) ** 2;
  const levels = [{ min, max, squares, counts: null }];
  let current = levels[0];
  while (current.min.length > 1) {
    const length = Math.ceil(current.min.length / 2);
    const nextMin = new Float32Array(length);
    const nextMax = new Float32Array(length);
    const nextSquares = new Float64Array(length);
    const nextCounts = new Uint32Array(length);
    for (let i = 0; i < length; i += 1) {
      const a = 2 * i;
      const b = Math.min(a + 1, current.min.length - 1);
      nextMin[i] = Math.min(current.min[a], current.min[b]);
      nextMax[i] = Math.max(current.max[a], current.max[b]);
      const countA = current.counts ? current.counts[a] : 1;
      nextSquares[i] = current.squares[a] + (b === a ? 0 : current.squares[b]);
      nextCounts[i] = countA + (b === a ? 0 : current.counts ? current.counts[b] : 1);
    }
    current = { min: nextMin, max: nextMax, squares: nextSquares, counts: nextCounts };
    levels.push(current);
  }
  return levels;
}

// The lowest and highest value over bins [from, to) of the finest level, read from the coarsest level that
// still has at least one bin in the span.
export function envelopeAt(peaks, from, to) {
  const binsWanted = Math.max(1, to - from);
  const levelIndex = Math.min(peaks.levels.length - 1, Math.max(0, Math.floor(Math.log2(binsWanted))));
  const level = peaks.levels[levelIndex];
  const factor = 2 ** levelIndex;
  const start = Math.max(0, Math.floor(from / factor));
  const end = Math.min(level.min.length, Math.max(start + 1, Math.ceil(to / factor)));
  let low = Infinity;
  let high = -Infinity;
  let squares = 0;
  let count = 0;
  for (let i = start; i < end; i += 1) {
    if (level.min[i] < low) low = level.min[i];
    if (level.max[i] > high) high = level.max[i];
    squares += level.squares[i];
    count += level.counts ? level.counts[i] : 1;
  }
  // A sine's RMS is its amplitude over the square root of two: the inner layer sits where speech's energy is.
  return low === Infinity ? null : [low, high, Math.sqrt(squares / count / 2)];
}

export function binsPerSecond(peaks) {
  return peaks.sampleRate / peaks.samplesPerPixel;
}

// Bins of the first, coarse peaks of a long recording: enough for a sharp fitted view on any screen.
const COARSE_BINS = 16384;
// Below this many samples per coarse bin the stored peaks are small enough to fetch at once.
const MIN_COARSE_SAMPLES_PER_PIXEL = 1024;

// The URL of coarse peaks to paint a long recording at once, or null when the stored ones are small. The server
// stores a power of two samples per pixel, at most 2^19 pixels, and rescales to any multiple: a power of two at
// least 32 times the stored 2^19-pixel resolution is one.
export function coarsePeaksUrl(peaksUrl, durationSec, sampleRate) {
  const frames = durationSec * sampleRate;
  const samplesPerPixel = 2 ** Math.ceil(Math.log2(Math.max(1, frames / COARSE_BINS)));
  if (samplesPerPixel < MIN_COARSE_SAMPLES_PER_PIXEL) return null;
  return `${peaksUrl}${peaksUrl.includes("?") ? "&" : "?"}samplesPerPixel=${samplesPerPixel}`;
}
