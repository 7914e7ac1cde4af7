// The recordings library: every recording, newest first, a page at a time, to reopen one (its address is
// #/assets/{assetId}, so a reload or a shared link opens it again) or to rename it.

import { request } from "./api.js";
import { formatBytes, formatNumber, formatTime } from "./format.js";

const PAGE_SIZE = 20;
const ASSET_HASH = /^#\/assets\/([0-9a-f]{32})$/;

export function assetHash(assetId) {
  return `#/assets/${assetId}`;
}

// The asset id a #/assets/{assetId} address names, or null for any other address.
export function assetIdFromHash(hash) {
  const match = ASSET_HASH.exec(hash);
  return match ? match[1] : null;
}

function listAssets(cursor) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor) query.set("cursor", cursor);
  return request("GET", `/api/audio/assets?${query}`);
}

function renameAsset(assetId, title) {
  return request("PATCH", `/api/audio/assets/${encodeURIComponent(assetId)}`, { title });
}

export function deleteAsset(assetId) {
  return request("DELETE", `/api/audio/assets/${encodeURIComponent(assetId)}`);
}

// Asks in the page's own dialog whether to delete the recording titled `title`; resolves true to go ahead.
export function confirmDeletion(title) {
  const dialog = document.getElementById("delete-dialog");
  document.getElementById("delete-dialog-text").textContent =
    `“${title}” and every version, preview and export of it will be deleted for good.`;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true });
    dialog.showModal();
  });
}

function describe(asset) {
  const versions = asset.versions === 1 ? "1 version" : `${asset.versions} versions`;
  const loudness = asset.loudness ? formatNumber(asset.loudness.integratedLufs, "LUFS") : null;
  const parts = [formatTime(asset.durationSec ?? 0), versions, loudness, formatBytes(asset.storageBytes)];
  const changed = new Date(asset.updatedAt).toLocaleDateString([], { day: "numeric", month: "short" });
  return [...parts.filter(Boolean), changed].join(" · ");
}

export class LibraryPanel {
  constructor({ onRenamed, onError }) {
    this.list = document.getElementById("library-list");
    this.empty = document.getElementById("library-empty");
    this.moreButton = document.getElementById("library-more");
    this.onRenamed = onRenamed;
    this.onError = onError;
    this.nextCursor = null;
    this.moreButton.addEventListener("click", () => this.loadMore().catch(this.onError));
  }

  async refresh() {
    const page = await listAssets(null);
    this.list.replaceChildren();
    this.show(page);
  }

  async loadMore() {
    if (!this.nextCursor) return;
    this.show(await listAssets(this.nextCursor));
  }

  show(page) {
    for (const asset of page.assets) this.list.append(this.item(asset));
    this.nextCursor = page.nextCursor;
    this.moreButton.hidden = !page.nextCursor;
    this.empty.hidden = this.list.childElementCount > 0;
  }

  item(asset) {
    const item = document.createElement("li");
    item.className = "library-item";
    item.dataset.assetId = asset.assetId;
    this.fill(item, asset);
    return item;
  }

  fill(item, asset) {
    const link = document.createElement("a");
    link.className = "library-title";
    link.href = assetHash(asset.assetId);
    link.textContent = asset.title || "Untitled";
    const facts = document.createElement("p");
    facts.className = "muted small-text library-facts";
    facts.textContent = describe(asset);
    const rename = document.createElement("button");
    rename.type = "button";
    rename.className = "link-button library-rename";
    rename.textContent = "Rename";
    rename.setAttribute("aria-label", `Rename ${link.textContent}`);
    rename.addEventListener("click", () => this.editTitle(item, asset));
    item.replaceChildren(link, rename, facts);
  }

  editTitle(item, asset) {
    const form = document.createElement("form");
    form.className = "library-rename-form";
    const input = document.createElement("input");
    input.type = "text";
    input.value = asset.title;
    input.required = true;
    input.setAttribute("aria-label", `New title for ${asset.title}`);
    const save = document.createElement("button");
    save.type = "submit";
    save.className = "button primary";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button subtle";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => this.fill(item, asset));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      save.disabled = true;
      try {
        const renamed = await renameAsset(asset.assetId, input.value);
        this.fill(item, renamed);
        this.onRenamed(renamed);
      } catch (error) {
        save.disabled = false;
        this.onError(error);
      }
    });
    form.append(input, save, cancel);
    item.replaceChildren(form);
    input.select();
  }
}
