// Jobs: following one job until it ends, and the panel listing recent jobs with their status and a cancel button.

import { cancelJob, getJob, listJobs, waitForJobChange } from "./api.js";
import { formatClock, formatPercent } from "./format.js";
import { knownJobs, openedRecordings, readSetting, writeSetting } from "./memory.js";
import { SmoothProgress } from "./smooth-progress.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const RETRY_DELAY_MS = 1000;
// A browser opens at most six HTTP/1.1 connections to one server: more long-polls than this would hold up every
// other request (uploads, waveforms, audio), so jobs beyond them are polled once a second instead.
const MAX_LONG_POLLS = 4;
const PLAIN_POLL_MS = 1000;
// A long-poll is answered at every change. A worker writes a running job's progress rarely by default, but may be
// set to write it several times a second (`WORKER_PROGRESS_INTERVAL_S`): asking again at once would then make more
// requests than polling. So a follower asks at most once per this interval; a change made while it waits is in the
// next answer, which comes at once.
const MIN_LONG_POLL_GAP_MS = 1000;
let longPolls = 0;
const MAX_FAILURES = 10;
// Followed jobs update the panel as they change; the list is read only to find jobs started elsewhere.
const LIST_INTERVAL_MS = 5000;

export const JOB_LABELS = {
  ingest: "Import",
  "edit.preview": "Preview",
  "edit.save": "Save version",
  render: "Export",
};

// The worker keeps progress below 100% until a job ends; past this it is finishing (a last pass, the writing of
// the file), which the page says in words rather than sitting at "100%".
const FINISHING_FROM = 0.995;

// What the worker says a running job is doing (the poll body's `stage`), in words.
const STAGE_TEXT = {
  decoding: "reading the recording",
  measuring: "measuring",
  editing: "applying the edits",
  encoding: "encoding",
  correcting: "correcting the level in another pass",
  storing: "storing the result",
};

export function stageText(job) {
  return job.status === "running" ? STAGE_TEXT[job.stage] || "" : "";
}

// What a progress bar shows for a job: its label with the stage in words, and the fraction (null: no figure).
export function progressView(label, job) {
  if (job.status === "queued") return { text: `${label}: waiting to start`, fraction: null };
  const stage = stageText(job);
  if (job.progress >= FINISHING_FROM) return { text: `${label}: ${stage || "finishing"}`, fraction: null };
  return { text: stage ? `${label}: ${stage}` : label, fraction: job.progress || 0 };
}

// The link that downloads a finished export.
export function downloadHref(result) {
  return `${result.url}${result.url.includes("?") ? "&" : "?"}download=1`;
}

export function isTerminal(job) {
  return TERMINAL.has(job.status);
}

export function statusText(job) {
  switch (job.status) {
    case "queued":
      return "Waiting to start";
    case "running":
      return job.progress >= FINISHING_FROM
        ? "Finishing"
        : `Running${stageText(job) ? ` (${stageText(job)})` : ""}, ${formatPercent(job.progress)}`;
    case "completed":
      // An import that kept going past damage in its file says so where the job is listed, too.
      return job.result?.warnings?.length ? "Done, from a damaged file: see the recording" : "Done";
    case "cancelled":
      return "Cancelled";
    case "failed":
      return job.error?.message ? `Failed: ${job.error.message}` : "Failed";
    default:
      return job.status;
  }
}

// One long-poll per job however many parts of the page follow it: jobId -> { listeners, latest, done }.
const following = new Map();

// Follow one job until it reaches a terminal status; `onUpdate` sees every new poll body, the promise the last
// one. Each request waits on the server for the next change, so updates arrive as they happen.
export function followJob(job, onUpdate) {
  let entry = following.get(job.jobId);
  if (!entry) {
    entry = { listeners: new Set(), latest: job };
    following.set(job.jobId, entry);
    entry.done = longPoll(entry).finally(() => following.delete(job.jobId));
  }
  entry.listeners.add(onUpdate);
  onUpdate(entry.latest.updatedAt >= job.updatedAt ? entry.latest : job);
  return entry.done;
}

async function longPoll(entry) {
  let failures = 0;
  let asked = 0;
  while (!isTerminal(entry.latest)) {
    let next;
    await sleep(asked + MIN_LONG_POLL_GAP_MS - Date.now());
    asked = Date.now();
    try {
      next = await nextState(entry.latest);
      failures = 0;
    } catch (error) {
      failures += 1;
      if (error.status === 404 || failures >= MAX_FAILURES) throw error;
      await sleep(RETRY_DELAY_MS);
      continue;
    }
    if (next.updatedAt === entry.latest.updatedAt) continue;
    entry.latest = next;
    for (const listener of entry.listeners) listener(next);
  }
  return entry.latest;
}

function sleep(delayMs) {
  if (delayMs <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

async function nextState(job) {
  if (longPolls >= MAX_LONG_POLLS) {
    await sleep(PLAIN_POLL_MS);
    return getJob(job.jobId);
  }
  longPolls += 1;
  try {
    return await waitForJobChange(job.jobId, job.updatedAt);
  } finally {
    longPolls -= 1;
  }
}

export class JobsPanel {
  constructor(list, emptyText, { onError, onOpen }) {
    this.list = list;
    this.emptyText = emptyText;
    this.onError = onError;
    this.onOpen = onOpen;
    this.showAll = document.getElementById("jobs-show-all");
    this.showAll.checked = readSetting("jobs.showAll", false);
    this.showAll.addEventListener("change", () => {
      writeSetting("jobs.showAll", this.showAll.checked);
      this.render();
    });
    this.jobs = new Map();
    this.timer = 0;
    this.lastErrorMessage = null;
    this.followed = new Set();
    // jobId -> the running job's bar, which outlives the list's re-rendering.
    this.bars = new Map();
  }

  start() {
    this.refresh();
  }

  // A job this page just created or polled: show it at once rather than at the next list refresh.
  track(job) {
    this.remember(job);
    this.render();
    this.follow(job);
  }

  // Every running or queued job in the panel is followed, so its row changes as soon as the job does.
  follow(job) {
    if (isTerminal(job) || this.followed.has(job.jobId)) return;
    this.followed.add(job.jobId);
    const update = (next) => {
      this.remember(next);
      this.render();
    };
    // A job that cannot be followed (deleted, server down) keeps the state the next list refresh reads.
    followJob(job, update)
      .catch(() => {})
      .finally(() => this.followed.delete(job.jobId));
  }

  async refresh() {
    try {
      const body = await listJobs();
      for (const job of body.jobs || []) this.remember(job);
      this.render();
      for (const job of this.jobs.values()) this.follow(job);
      this.lastErrorMessage = null;
    } catch (error) {
      // A server that is down fails every refresh; say so once, not every second.
      if (error.message !== this.lastErrorMessage) this.onError(error);
      this.lastErrorMessage = error.message;
    }
    this.schedule(LIST_INTERVAL_MS);
  }

  // Answers can arrive out of order (a list started before a cancel answers after it): keep the newest state.
  remember(job) {
    const known = this.jobs.get(job.jobId);
    if (known && known.updatedAt > job.updatedAt) return;
    this.jobs.set(job.jobId, job);
    if (job.status !== "running") {
      this.bars.get(job.jobId)?.detach();
      this.bars.delete(job.jobId);
      return;
    }
    if (!this.bars.has(job.jobId)) this.bars.set(job.jobId, new SmoothProgress());
    this.bars.get(job.jobId).report(job);
  }

  schedule(delayMs) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delayMs);
  }

  async cancel(jobId, button) {
    button.disabled = true;
    try {
      this.track(await cancelJob(jobId));
    } catch (error) {
      this.onError(error);
      button.disabled = false;
    }
  }

  // What a job belongs to and does: from this browser's memory of the jobs it started, else from the result.
  // `memory` is this browser's record, read once per rendering of the list.
  describe(job, memory) {
    const remembered = memory.jobs[job.jobId];
    const known = remembered || {};
    const assetId = known.assetId || job.result?.assetId || null;
    const title = (assetId ? memory.opened[assetId] : null) || known.title || null;
    let what = known.what || null;
    if (!what && job.type === "render" && job.result) {
      what = `${job.result.format.toUpperCase()} of version ${job.result.version}`;
    }
    if (!what && job.result?.version) what = `Version ${job.result.version}`;
    return { assetId, title, what, known: Boolean(remembered) };
  }

  // Only the jobs of recordings this browser opened, unless the user asks for every job on the server.
  visible(job, memory) {
    if (this.showAll.checked) return true;
    const { assetId, known } = this.describe(job, memory);
    return known || (assetId !== null && assetId in memory.opened);
  }

  render() {
    const memory = { jobs: knownJobs(), opened: openedRecordings() };
    const jobs = [...this.jobs.values()]
      .filter((job) => this.visible(job, memory))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    this.emptyText.hidden = jobs.length > 0;
    // Rebuilding the list must not take keyboard focus away from a cancel button.
    const focusedJobId = this.list.contains(document.activeElement)
      ? document.activeElement.closest("li")?.dataset.jobId
      : null;
    for (const bar of this.bars.values()) bar.detach();
    this.list.replaceChildren(...jobs.map((job) => this.renderJob(job, memory)));
    if (focusedJobId) {
      const item = this.list.querySelector(`li[data-job-id="${CSS.escape(focusedJobId)}"]`);
      (item?.querySelector("button") || item)?.focus();
    }
  }

  renderJob(job, memory) {
    const item = document.createElement("li");
    item.className = `job job-${job.status}`;
    item.dataset.jobId = job.jobId;
    item.dataset.status = job.status;
    item.tabIndex = -1;

    const header = document.createElement("div");
    header.className = "job-header";
    const name = document.createElement("span");
    name.className = "job-name";
    name.textContent = JOB_LABELS[job.type] || job.type;
    const time = document.createElement("span");
    time.className = "job-time muted";
    time.textContent = formatClock(job.createdAt);
    header.append(name, time);
    item.append(header);

    const { assetId, title, what } = this.describe(job, memory);
    if (title || what || assetId) {
      const about = document.createElement("p");
      about.className = "job-about";
      if (assetId) {
        const open = document.createElement("a");
        open.href = `#asset=${encodeURIComponent(assetId)}`;
        open.textContent = title || "Open the recording";
        open.addEventListener("click", (event) => {
          event.preventDefault();
          this.onOpen?.(assetId, job.result?.version ?? null);
        });
        about.append(open);
      } else if (title) {
        about.append(title);
      }
      if (what) about.append(title || assetId ? ` · ${what}` : what);
      item.append(about);
    }

    const status = document.createElement("p");
    status.className = "job-status";
    status.textContent = statusText(job);
    item.append(status);

    if (job.type === "render" && job.status === "completed" && job.result?.url) {
      const link = document.createElement("a");
      link.className = "job-download";
      link.href = downloadHref(job.result);
      link.download = job.result.filename || "";
      link.textContent = `Download ${job.result.filename || job.result.format}`;
      item.append(link);
    }

    if (!isTerminal(job)) {
      const row = document.createElement("div");
      row.className = "progress-row";
      const progress = document.createElement("progress");
      progress.max = 1;
      progress.setAttribute("aria-label", `${name.textContent} progress`);
      if (job.status === "running") {
        // The bar moves on between updates; what it reads out is the figure the job reported.
        progress.setAttribute("aria-valuetext", formatPercent(job.progress));
        this.bars.get(job.jobId)?.attach(progress);
      }
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "button subtle job-cancel";
      cancel.textContent = "Cancel";
      cancel.setAttribute("aria-label", `Cancel ${name.textContent.toLowerCase()} job`);
      cancel.addEventListener("click", () => this.cancel(job.jobId, cancel));
      row.append(progress, cancel);
      item.append(row);
    }
    return item;
  }
}
