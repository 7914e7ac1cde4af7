// What this browser remembers between visits (localStorage): the pending edits of each version, the recordings it
// opened, and what the jobs it started were for. A browser that refuses storage only forgets.

const PREFIX = "audioprep.";
const MAX_JOBS = 300;

function read(key, fallback) {
  try {
    const text = localStorage.getItem(PREFIX + key);
    return text === null ? fallback : JSON.parse(text);
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(PREFIX + key);
    else localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // Storage full or refused: the page still works, it only forgets.
  }
}

const pendingKey = (assetId, version) => `pending.${assetId}.${version}`;

export function loadPendingEdits(assetId, version) {
  const stored = read(pendingKey(assetId, version), null);
  return stored && Array.isArray(stored.edits) ? stored : null;
}

export function savePendingEdits(assetId, version, edits) {
  write(pendingKey(assetId, version), edits.length ? { edits, savedAt: new Date().toISOString() } : null);
}

// The recordings this browser opened: assetId -> title.
export function openedRecordings() {
  return read("opened", {});
}

export function rememberRecording(assetId, title) {
  write("opened", { ...openedRecordings(), [assetId]: title });
}

export function forgetRecording(assetId) {
  const opened = openedRecordings();
  delete opened[assetId];
  write("opened", opened);
}

// The jobs this browser started: jobId -> { assetId, title, what }.
export function knownJobs() {
  return read("jobs", {});
}

export function rememberJob(jobId, details) {
  const jobs = { ...knownJobs(), [jobId]: details };
  const ids = Object.keys(jobs);
  for (const id of ids.slice(0, Math.max(0, ids.length - MAX_JOBS))) delete jobs[id];
  write("jobs", jobs);
}

export function readSetting(name, fallback) {
  return read(`setting.${name}`, fallback);
}

export function writeSetting(name, value) {
  write(`setting.${name}`, value);
}
