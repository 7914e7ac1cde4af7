// Peaks in the audiowaveform JSON format (version 2): min/max pairs per pixel, channels interleaved.
// The channels are merged into one envelope scaled to -1..1, and a pyramid of coarser levels (each half the
// length of the one before) is built so drawing any zoom level looks at a handful of bins per screen pixel.
// The server already caps the stored resolution, so the peaks are fetched once, as stored.

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
  };
}

function buildLevels(min, max) {
  const levels = [{ min, max }];
  let current = levels[0];
  while (current.min.length > 1) {
    const length = Math.ceil(current.min.length / 2);
    const nextMin = new Float32Array(length);
    const nextMax = new Float32Array(length);
    for (let i = 0; i < length; i += 1) {
      const a = 2 * i;
      const b = Math.min(a + 1, current.min.length - 1);
      nextMin[i] = Math.min(current.min[a], current.min[b]);
      nextMax[i] = Math.max(current.max[a], current.max[b]);
    }
    current = { min: nextMin, max: nextMax };
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
  for (let i = start; i < end; i += 1) {
    if (level.min[i] < low) low = level.min[i];
    if (level.max[i] > high) high = level.max[i];
  }
  return low === Infinity ? null : [low, high];
}

export function binsPerSecond(peaks) {
  return peaks.sampleRate / peaks.samplesPerPixel;
}
