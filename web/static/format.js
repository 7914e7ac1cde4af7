// How numbers read on the page.

export function formatTime(seconds, decimals = 1) {
  if (!Number.isFinite(seconds) || seconds < 0) seconds = 0;
  const scale = 10 ** decimals;
  const rounded = Math.round(seconds * scale) / scale;
  const hours = Math.floor(rounded / 3600);
  const minutes = Math.floor((rounded % 3600) / 60);
  const rest = (rounded % 60).toFixed(decimals).padStart(decimals ? 3 + decimals : 2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

export function formatNumber(value, unit, decimals = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${value.toFixed(decimals).replace("-", "−")} ${unit}`;
}

export function formatPercent(fraction) {
  return `${Math.round(Math.max(0, Math.min(1, fraction || 0)) * 100)}%`;
}

export function formatClock(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "";
  return moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// Seconds from what a person types: "75.5", "1:15.5" or "0:01:15.500"; null when it is not a time.
export function parseTime(text) {
  const parts = String(text).trim().split(":");
  if (parts.length > 3 || parts.some((part) => !/^\d*\.?\d+$|^\d+\.$/.test(part))) return null;
  if (parts.slice(1).some((part) => Number.parseFloat(part) >= 60)) return null;
  return parts.reduce((total, part) => total * 60 + Number.parseFloat(part), 0);
}

// How many decimals a tick step needs so that every label it makes is exact (0.25 s steps read 0:03.25).
export function stepDecimals(step) {
  const text = String(step);
  return text.includes(".") ? text.split(".")[1].length : 0;
}
