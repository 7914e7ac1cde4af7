// The export presets and formats as the server defines them (GET /api/render/presets, from
// common/render_options.py), and plain-words notes on where a measurement misses a preset's targets. The worker
// checks the rendered file against the same targets; this is the early hint.

import { getRenderCatalogue } from "./api.js";
import { formatNumber } from "./format.js";

// How far from the integrated target the page still calls a level near it: a hint, not the worker's check.
const LEVEL_HINT_LU = 1;

let catalogue = null;

// The presets and formats, fetched once per page (again only if the first fetch failed).
export function loadRenderCatalogue() {
  catalogue ??= getRenderCatalogue().catch((error) => {
    catalogue = null;
    throw error;
  });
  return catalogue;
}

const signed = (value) => String(value).replace("-", "−");

function rmsWindow(targets) {
  return targets.rmsDbMin === null || targets.rmsDbMax === null ? null : [targets.rmsDbMin, targets.rmsDbMax];
}

function misses(loudness, targets) {
  const found = [];
  const lufs = loudness.integratedLufs;
  const rms = loudness.rmsDb;
  const peak = loudness.truePeakDbtp;
  const aim = targets.integratedLufs;
  const window = rmsWindow(targets);
  if (aim !== null && Number.isFinite(lufs) && Math.abs(lufs - aim) > LEVEL_HINT_LU) {
    found.push(`loudness is ${formatNumber(lufs, "LUFS")}, the target is ${signed(aim)} LUFS ± ${LEVEL_HINT_LU}`);
  }
  if (window && Number.isFinite(rms) && (rms < window[0] || rms > window[1])) {
    const range = `${signed(window[0])} and ${signed(window[1])} dB`;
    found.push(`RMS is ${formatNumber(rms, "dB")}, it must be between ${range}`);
  }
  if (targets.truePeakDb !== null && Number.isFinite(peak) && peak > targets.truePeakDb) {
    found.push(`true peak is ${formatNumber(peak, "dBTP")}, it must be at most ${signed(targets.truePeakDb)} dBTP`);
  }
  return found;
}

// One sentence for the page: met, or what misses. `preset` is an entry of the catalogue's presets (or null).
// The recording on screen is only a starting point, since an export with the preset levels the audio to the
// target; an exported file that misses it is worth a warning.
export function targetNote(loudness, preset, { exported = false } = {}) {
  // A custom preset's targets are in the request, not the catalogue: only the worker's report judges them.
  if (!preset || !loudness || preset.requiredTargets?.length) return { met: true, text: "" };
  const found = misses(loudness, preset.targets);
  const subject = exported ? "The exported file" : "The recording";
  if (found.length === 0) return { met: true, text: `${subject} meets the ${preset.label} loudness target.` };
  const advice = exported ? "" : ` Exporting with the ${preset.label} preset levels it to the target.`;
  return { met: false, text: `${subject} misses the ${preset.label} target: ${found.join("; ")}.${advice}` };
}

// What a preset does, in a line under its choice.
export function presetHelp(preset) {
  if (!preset) return "The audio keeps its level, sample rate and channels.";
  if (preset.requiredTargets?.length) return "Your own loudness target and true-peak ceiling.";
  const { targets } = preset;
  const window = rmsWindow(targets);
  const parts = [];
  if (targets.integratedLufs !== null) parts.push(`${signed(targets.integratedLufs)} LUFS`);
  if (window) parts.push(`RMS ${signed(window[0])} to ${signed(window[1])} dB`);
  if (targets.truePeakDb !== null) parts.push(`true peak at most ${signed(targets.truePeakDb)} dBTP`);
  if (targets.noiseFloorDbMax !== null) parts.push(`noise floor at most ${signed(targets.noiseFloorDbMax)} dB`);
  if (targets.channels !== null) parts.push(targets.channels === 1 ? "mono" : "stereo");
  if (targets.sampleRate !== null) parts.push(`${targets.sampleRate / 1000} kHz`);
  if (preset.format) parts.push(`${preset.bitrate ? `${preset.bitrate} kbit/s ` : ""}${preset.format.toUpperCase()}`);
  return `${parts.join(", ")}.`;
}

// The level a normalize edit aims at for this preset: its integrated target, else the middle of its RMS window.
export function normalizeTargetLufs(preset) {
  if (!preset) return null;
  const window = rmsWindow(preset.targets);
  return preset.targets.integratedLufs ?? (window ? (window[0] + window[1]) / 2 : null);
}
