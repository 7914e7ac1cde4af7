// Loudness targets of the export presets, and plain-words notes on where a measurement misses them.
// The worker checks the rendered file against the same targets (common/audio/presets.py); this is the early hint.

import { formatNumber } from "./format.js";

export const PRESETS = {
  podcast: {
    label: "Podcast",
    normalizeLufs: -16,
    check(loudness) {
      const misses = [];
      const lufs = loudness.integratedLufs;
      const peak = loudness.truePeakDbtp;
      if (Number.isFinite(lufs) && Math.abs(lufs + 16) > 1) {
        misses.push(`loudness is ${formatNumber(lufs, "LUFS")}, the target is −16 LUFS ± 1`);
      }
      if (Number.isFinite(peak) && peak > -1) {
        misses.push(`true peak is ${formatNumber(peak, "dBTP")}, it must be at most −1 dBTP`);
      }
      return misses;
    },
  },
  "audiobook-acx": {
    label: "Audiobook (ACX)",
    normalizeLufs: -20,
    check(loudness) {
      const misses = [];
      const rms = loudness.rmsDb;
      const peak = loudness.truePeakDbtp;
      if (Number.isFinite(rms) && (rms < -23 || rms > -18)) {
        misses.push(`RMS is ${formatNumber(rms, "dB")}, it must be between −23 and −18 dB`);
      }
      if (Number.isFinite(peak) && peak > -3) {
        misses.push(`peak is ${formatNumber(peak, "dB")}, it must be at most −3 dB`);
      }
      return misses;
    },
  },
};

// One sentence for the page: met, or what misses. The recording on screen is only a starting point, since an
// export with the preset levels the audio to the target; an exported file that misses it is worth a warning.
export function targetNote(loudness, presetName, { exported = false } = {}) {
  const preset = PRESETS[presetName];
  if (!preset || !loudness) return { met: true, text: "" };
  const misses = preset.check(loudness);
  const subject = exported ? "The exported file" : "The recording";
  if (misses.length === 0) return { met: true, text: `${subject} meets the ${preset.label} loudness target.` };
  const joined = misses.join("; ");
  const advice = exported ? "" : ` Exporting with the ${preset.label} preset levels it to the target.`;
  return { met: false, text: `${subject} misses the ${preset.label} target: ${joined}.${advice}` };
}
