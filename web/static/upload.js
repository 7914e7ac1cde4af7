// Opening a recording: drop or pick a file, watch the upload, then the import job, then hand over the result.

import { uploadAudio } from "./api.js";
import { formatBytes } from "./format.js";
import { followJob } from "./jobs.js";
import { rememberJob } from "./memory.js";
import { hideNotice, showBeside } from "./notice.js";
import { ProgressBlock } from "./progress.js";

export class UploadPanel {
  constructor({ jobsPanel, onImported }) {
    this.jobsPanel = jobsPanel;
    this.onImported = onImported;
    this.dropZone = document.getElementById("drop-zone");
    this.fileInput = document.getElementById("file-input");
    this.titleInput = document.getElementById("title-input");
    this.uploadProgress = new ProgressBlock("upload");
    this.ingestProgress = new ProgressBlock("ingest", { onCancel: () => this.cancel() });
    this.jobId = null;
    this.busy = false;

    this.fileInput.addEventListener("change", () => {
      const file = this.fileInput.files[0];
      if (file) this.open(file);
    });
    // A file dropped anywhere on the page opens it; left to the browser, it would navigate away from the page.
    document.addEventListener("dragover", (event) => {
      event.preventDefault();
      this.dropZone.classList.toggle("dragging", this.dropZone.contains(event.target));
    });
    document.addEventListener("dragleave", (event) => {
      if (!event.relatedTarget) this.dropZone.classList.remove("dragging");
    });
    document.addEventListener("drop", (event) => {
      event.preventDefault();
      this.dropZone.classList.remove("dragging");
      const file = event.dataTransfer?.files[0];
      if (file) this.open(file);
    });
  }

  setBusy(busy) {
    this.busy = busy;
    this.fileInput.disabled = busy;
    this.dropZone.classList.toggle("busy", busy);
  }

  async open(file) {
    if (this.busy) return;
    hideNotice();
    this.setBusy(true);
    const name = file.name || "the file";
    try {
      this.uploadProgress.show(`Uploading “${name}”`, 0);
      const job = await uploadAudio(file, this.titleInput.value.trim(), (loaded, total) => {
        const sizes = `${formatBytes(loaded)} of ${formatBytes(total)}`;
        this.uploadProgress.show(`Uploading “${name}” (${sizes})`, loaded / total);
      });
      this.uploadProgress.hide();
      this.jobId = job.jobId;
      rememberJob(job.jobId, { assetId: null, title: name, what: null });
      const last = await followJob(job, (update) => {
        this.jobsPanel.track(update);
        const text = update.status === "queued" ? `Waiting to import “${name}”` : `Importing “${name}”`;
        const fraction = update.status === "queued" ? null : update.progress || 0;
        this.ingestProgress.show(text, fraction, { cancellable: true, job: update });
      });
      this.finish(last, name);
    } catch (error) {
      showBeside("upload-message", error.message || String(error));
    } finally {
      this.uploadProgress.hide();
      this.ingestProgress.hide();
      this.jobId = null;
      this.fileInput.value = "";
      this.setBusy(false);
    }
  }

  finish(job, name) {
    if (job.status === "completed") {
      this.titleInput.value = "";
      this.onImported(job.result);
    } else if (job.status === "cancelled") {
      showBeside("upload-message", `The import of “${name}” was cancelled.`, "info");
    } else {
      const reason = job.error?.message || "the server gave no reason";
      showBeside("upload-message", `“${name}” could not be imported: ${reason}`);
    }
  }

  cancel() {
    if (this.jobId) this.jobsPanel.cancel(this.jobId, this.ingestProgress.cancelButton);
  }
}
