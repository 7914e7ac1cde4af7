// A running job's progress bar that moves between the job's updates instead of jumping.
//
// A worker writes a running job's progress rarely (`WORKER_PROGRESS_INTERVAL_S`, 20 s by default, the first write
// `WORKER_PROGRESS_FIRST_S` after the claim): every write answers every long-poll on the job. Between two writes the
// bar moves at the rate the job's last two reported values show (their difference over the time between their
// `updatedAt`), from when the newer one arrived, for as long as the next write may take: the time the newer one
// took to come after the one before, and at least `CARRY_MS`. It never moves backwards (a write behind the bar holds
// it until the estimate passes it again), stays below the end until the job has ended, and a job whose value stops
// changing stops the bar. The percentage in words and the bar's `aria-valuetext` always say the reported value;
// with `prefers-reduced-motion` the bar shows only the reported value too.

// Below the figure at which the page says "finishing": an estimate never fills the bar.
const ESTIMATE_CEILING = 0.99;
// Longer than the worker's default time between two progress writes (20 s), with room for a late one: the first
// two values of a job come only `WORKER_PROGRESS_FIRST_S` apart, and the bar must not wait out the rest of the gap.
const CARRY_MS = 25000;

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

// Where the bar of one job stands at a given moment (`now`: the page's clock, `performance.now()`).
export class ProgressEstimate {
  constructor() {
    this.previous = null;
    this.latest = null;
    this.running = false;
    this.shown = 0;
  }

  // A poll body of the job, received at `now`.
  report(job, now) {
    const value = job.progress || 0;
    const sample = { value, writtenAt: Date.parse(job.updatedAt), seenAt: now };
    this.running = job.status === "running";
    if (!this.running || (this.latest && value < this.latest.value)) {
      // Not running (queued, ended) or started over (a new attempt): nothing to carry forward.
      this.previous = null;
      this.latest = sample;
      this.shown = value;
      return;
    }
    if (!this.latest || value > this.latest.value) {
      this.previous = this.latest;
      this.latest = sample;
    } else if (sample.writtenAt > this.latest.writtenAt) {
      // The job was written again at the same value: it is not moving now, so neither is the bar.
      this.previous = { ...this.latest };
      this.latest = sample;
    }
    this.shown = Math.max(this.shown, value);
  }

  // How fast the bar moves (per millisecond) and for how long after the latest update; null when it stands still.
  motion() {
    const { previous, latest } = this;
    if (!this.running || !previous || latest.value <= previous.value || latest.writtenAt <= previous.writtenAt) {
      return null;
    }
    return {
      rate: (latest.value - previous.value) / (latest.writtenAt - previous.writtenAt),
      forMs: Math.max(latest.seenAt - previous.seenAt, CARRY_MS),
    };
  }

  // The bar's value at `now`; never less than at an earlier call.
  valueAt(now) {
    if (!this.latest) return 0;
    const motion = this.motion();
    if (motion) {
      const ahead = motion.rate * Math.min(Math.max(now - this.latest.seenAt, 0), motion.forMs);
      this.shown = Math.max(this.shown, Math.min(this.latest.value + ahead, ESTIMATE_CEILING));
    }
    return this.shown;
  }

  // Whether the bar still has somewhere to go without a new update.
  movingAt(now) {
    const motion = this.motion();
    return motion !== null && now - this.latest.seenAt < motion.forMs && this.shown < ESTIMATE_CEILING;
  }
}

// Draws one job's estimate into whichever <progress> element currently shows that job (lists are re-rendered).
export class SmoothProgress {
  constructor() {
    this.estimate = new ProgressEstimate();
    this.bar = null;
    this.frame = 0;
    this.draw = this.draw.bind(this);
  }

  report(job) {
    this.estimate.report(job, performance.now());
    this.draw();
  }

  attach(bar) {
    this.bar = bar;
    this.draw();
  }

  detach() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.bar = null;
  }

  draw() {
    if (!this.bar) return;
    const now = performance.now();
    const latest = this.estimate.latest?.value || 0;
    this.bar.value = reducedMotion.matches ? latest : this.estimate.valueAt(now);
    if (!reducedMotion.matches && !this.frame && this.estimate.movingAt(now)) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw();
      });
    }
  }
}
