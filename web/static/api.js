// The HTTP API of the web process. Every failure becomes an ApiError carrying the server's human message.

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// Below the server's 30 s limit and below the idle time-outs of common proxies.
const LONG_POLL_TIMEOUT_S = 25;
const UNREACHABLE_MESSAGE = "The server could not be reached. Check that it is running, then try again.";

function errorFromBody(status, statusText, body) {
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error.message === "string") {
    return new ApiError(error.code || `http_${status}`, error.message, status);
  }
  if (status === 413) {
    return new ApiError("too_large", "The file is larger than the server accepts.", status);
  }
  return new ApiError(`http_${status}`, `The server answered ${status} ${statusText}`.trim() + ".", status);
}

function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function request(method, path, body, signal) {
  const init = { method, headers: { Accept: "application/json" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError("unreachable", UNREACHABLE_MESSAGE, 0);
  }
  const data = parseJson(await response.text());
  if (!response.ok) throw errorFromBody(response.status, response.statusText, data);
  return data;
}

function jobPath(jobId) {
  return `/api/audio/jobs/${encodeURIComponent(jobId)}`;
}

// XMLHttpRequest rather than fetch: only it reports upload progress.
export function uploadAudio(file, title, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("file", file, file.name);
    if (title) form.append("title", title);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/audio/ingest");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      const data = parseJson(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300 && data) resolve(data);
      else reject(errorFromBody(xhr.status, xhr.statusText, data));
    };
    xhr.onerror = () => {
      reject(new ApiError("upload_failed", "The upload was interrupted before the server answered.", 0));
    };
    xhr.send(form);
  });
}

export const getJob = (jobId) => request("GET", jobPath(jobId));

// A long-poll: the server answers once the job's updatedAt differs from `updatedAt` (or after `timeoutS`).
export function waitForJobChange(jobId, updatedAt, timeoutS = LONG_POLL_TIMEOUT_S) {
  const query = new URLSearchParams({ waitForChange: updatedAt, timeout: String(timeoutS) });
  return request("GET", `${jobPath(jobId)}?${query}`);
}
export const cancelJob = (jobId) => request("DELETE", jobPath(jobId));
export const listJobs = () => request("GET", "/api/audio/jobs");
export const listJobsOfType = (type) => request("GET", `/api/audio/jobs?type=${encodeURIComponent(type)}`);
export const getAsset = (assetId) => request("GET", `/api/audio/assets/${encodeURIComponent(assetId)}`);
export const getRenderCatalogue = () => request("GET", "/api/render/presets");
export const getEditOperations = () => request("GET", "/api/audio/edit/operations");

export function getPeaks(peaksUrl) {
  return request("GET", peaksUrl);
}

export const getPeakSpanLimits = () => request("GET", "/api/audio/peak-spans");

// Peaks of a span of a version decoded by the server; `signal` abandons the request when the view moves on.
export function getSpanPeaks(assetId, version, { start, end, samplesPerPixel }, signal) {
  const query = new URLSearchParams({ start: String(start), end: String(end), samplesPerPixel: String(samplesPerPixel) });
  const path = `/api/audio/assets/${encodeURIComponent(assetId)}/versions/${version}/peaks?${query}`;
  return request("GET", path, undefined, signal);
}

export function startPreview(assetId, version, edits, preview) {
  return request("POST", "/api/audio/edit/preview", { assetId, version, edits, preview });
}

export function startSave(assetId, version, edits) {
  return request("POST", "/api/audio/edit/save", { assetId, version, edits });
}

export function startRender({ assetId, version, format, preset, bitrate, tags, targets = null }) {
  return request("POST", "/api/render", { assetId, version, format, preset, bitrate, tags, targets });
}
