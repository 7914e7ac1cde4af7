// A labelled progress bar with an optional cancel button, shown while a step of work is under way.

import { formatPercent } from "./format.js";
import { SmoothProgress } from "./smooth-progress.js";

export class ProgressBlock {
  constructor(id, { onCancel } = {}) {
    this.container = document.getElementById(`${id}-status`);
    this.label = document.getElementById(`${id}-label`);
    this.bar = document.getElementById(`${id}-progress`);
    this.cancelButton = document.getElementById(`${id}-cancel`);
    this.onCancel = onCancel;
    this.smooth = new SmoothProgress();
    if (this.cancelButton) this.cancelButton.addEventListener("click", () => this.onCancel?.());
  }

  // `job`: the poll body the fraction comes from, so the bar can move smoothly between the job's updates.
  show(text, fraction, { cancellable = false, job = null } = {}) {
    this.container.hidden = false;
    this.label.textContent = fraction === null ? text : `${text} — ${formatPercent(fraction)}`;
    if (fraction === null || !job) this.smooth.detach();
    if (fraction === null) {
      this.bar.removeAttribute("value");
      this.bar.removeAttribute("aria-valuetext");
    } else if (job) {
      // The bar moves on between a job's updates; what it reads out is the figure the job reported.
      this.bar.setAttribute("aria-valuetext", formatPercent(fraction));
      this.smooth.report(job);
      this.smooth.attach(this.bar);
    } else {
      this.bar.value = fraction;
    }
    if (this.cancelButton) {
      this.cancelButton.hidden = !cancellable;
      this.cancelButton.disabled = false;
    }
  }

  hide() {
    this.container.hidden = true;
    this.smooth.detach();
    this.smooth = new SmoothProgress();
  }
}
