// A labelled progress bar with an optional cancel button, shown while a step of work is under way.

import { formatPercent } from "./format.js";

export class ProgressBlock {
  constructor(id, { onCancel } = {}) {
    this.container = document.getElementById(`${id}-status`);
    this.label = document.getElementById(`${id}-label`);
    this.bar = document.getElementById(`${id}-progress`);
    this.cancelButton = document.getElementById(`${id}-cancel`);
    this.onCancel = onCancel;
    if (this.cancelButton) this.cancelButton.addEventListener("click", () => this.onCancel?.());
  }

  show(text, fraction, { cancellable = false } = {}) {
    this.container.hidden = false;
    this.label.textContent = fraction === null ? text : `${text} — ${formatPercent(fraction)}`;
    if (fraction === null) this.bar.removeAttribute("value");
    else this.bar.value = fraction;
    if (this.cancelButton) {
      this.cancelButton.hidden = !cancellable;
      this.cancelButton.disabled = false;
    }
  }

  hide() {
    this.container.hidden = true;
  }
}
