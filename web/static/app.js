// Wires the page together: the panels, keyboard shortcuts, and reopening the recording named in the address.

import { getEditOperations } from "./api.js";
import { EditPanel } from "./edit-panel.js";
import { JobsPanel } from "./jobs.js";
import { LibraryPanel, assetIdFromHash, confirmDeletion, deleteAsset } from "./library.js";
import { loadRenderCatalogue } from "./loudness.js";
import { forgetRecording } from "./memory.js";
import { bindNotice, showError } from "./notice.js";
import { RecordingView } from "./recording.js";
import { RenderPanel } from "./render-panel.js";
import { signIn } from "./signin.js";
import { UploadPanel } from "./upload.js";

// Keys typed into these are text, not shortcuts; buttons and links keep Space for activating themselves.
const TYPING_TARGETS = new Set(["INPUT", "TEXTAREA", "SELECT", "BUTTON", "A", "AUDIO"]);
// Where Ctrl/Cmd+Z means the browser's own text undo.
const TEXT_TARGETS = new Set(["INPUT", "TEXTAREA"]);

function start() {
  bindNotice();
  let editPanel = null;
  const jobsPanel = new JobsPanel(document.getElementById("job-list"), document.getElementById("job-list-empty"), {
    onError: showError,
    onOpen: (assetId, version) => {
      if (recording.asset?.assetId !== assetId && !canLeaveVersion()) return;
      recording.open(assetId, version).catch(showError);
    },
  });
  // Pending edits are kept in this browser per version, but leaving them behind is still asked about.
  const canLeaveVersion = () => {
    const count = editPanel?.pendingCount ?? 0;
    if (count === 0) return true;
    const edits = `${count} pending edit${count === 1 ? "" : "s"}`;
    if (!window.confirm(`Discard the ${edits} of this version? They have not been saved.`)) return false;
    editPanel.discard();
    return true;
  };
  const versionListeners = [];
  const recording = new RecordingView({
    canLeaveVersion,
    onError: showError,
    onVersionShown: (asset, version) => {
      for (const listener of versionListeners) listener.versionShown(asset, version);
    },
  });
  const library = new LibraryPanel({
    onError: showError,
    onRenamed: (asset) => {
      if (!recording.asset || recording.asset.assetId !== asset.assetId) return;
      // The export's title tag follows the rename unless someone typed another title there.
      const titleTag = document.getElementById("tag-title");
      if (titleTag.value === recording.asset.title) titleTag.value = asset.title;
      recording.asset.title = asset.title;
      document.getElementById("editor-heading").textContent = asset.title;
    },
  });
  const refreshLibrary = () => library.refresh().catch(showError);
  editPanel = new EditPanel({
    recording,
    jobsPanel,
    onSaved: (result) => {
      recording.open(result.assetId, result.version).catch(showError);
      refreshLibrary();
    },
  });
  const renderPanel = new RenderPanel({
    recording,
    jobsPanel,
    onPresetChange: (preset) => {
      recording.setPreset(preset);
      editPanel.presetChanged(preset);
    },
  });
  versionListeners.push(editPanel, renderPanel);
  loadRenderCatalogue()
    .then((catalogue) => renderPanel.useCatalogue(catalogue))
    .catch(showError);
  getEditOperations()
    .then((rules) => editPanel.useRules(rules))
    .catch(showError);
  new UploadPanel({
    jobsPanel,
    onImported: (result) => {
      recording.open(result.assetId, result.version).catch(showError);
      refreshLibrary();
    },
  });
  jobsPanel.start();
  refreshLibrary();

  // Deleting the open recording asks first, in the page's own dialog, then goes back to the library.
  const deleteButton = document.getElementById("delete-recording");
  deleteButton.addEventListener("click", async () => {
    const asset = recording.asset;
    if (!asset || !(await confirmDeletion(asset.title || "Untitled"))) return;
    deleteButton.disabled = true;
    try {
      await deleteAsset(asset.assetId);
      editPanel.discard();
      forgetRecording(asset.assetId);
      recording.close();
      document.getElementById("render-card").hidden = true;
      if (location.hash) history.replaceState(null, "", location.pathname);
      await library.refresh();
      document.getElementById("library").scrollIntoView();
      document.getElementById("library-heading").focus();
    } catch (error) {
      showError(error);
    } finally {
      deleteButton.disabled = false;
    }
  });

  document.addEventListener("keydown", (event) => {
    if (!recording.version) return;
    const command = event.ctrlKey || event.metaKey;
    if (command && !event.altKey && event.key.toLowerCase() === "z" && !TEXT_TARGETS.has(event.target.tagName)) {
      event.preventDefault();
      if (event.shiftKey) editPanel.redo();
      else editPanel.undo();
      return;
    }
    if (command && !event.altKey && event.key.toLowerCase() === "y" && !TEXT_TARGETS.has(event.target.tagName)) {
      event.preventDefault();
      editPanel.redo();
      return;
    }
    if (command || event.altKey || TYPING_TARGETS.has(event.target.tagName)) return;
    if ((event.key === "Delete" || event.key === "Backspace") && recording.selection) {
      event.preventDefault();
      editPanel.addSpanEdit("cut");
    } else if (event.key === " ") {
      event.preventDefault();
      recording.togglePlay();
    } else if (event.key === "+" || event.key === "=") {
      recording.zoom(1);
    } else if (event.key === "-") {
      recording.zoom(-1);
    }
  });

  // A library link (#/assets/{assetId}) opens its recording's latest version.
  window.addEventListener("hashchange", () => {
    const linked = assetIdFromHash(location.hash);
    if (linked) recording.open(linked).catch(showError);
  });
  const linked = assetIdFromHash(location.hash);
  const params = new URLSearchParams(location.hash.slice(1));
  const assetId = linked || params.get("asset");
  if (assetId) {
    const version = Number.parseInt(params.get("version") || "", 10);
    recording.open(assetId, Number.isFinite(version) ? version : null).catch(showError);
  }
}

bindNotice();
signIn().then(start, showError);
