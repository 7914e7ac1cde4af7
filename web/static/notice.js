// Messages where the user is looking: beside the control that caused them (a message slot next to it), or in a
// toast pinned to the bottom of the window, so it stays in view however far the page is scrolled.

const box = () => document.getElementById("notice");

export const SELECT_FIRST = "Select a span first: drag across the waveform, or type its start and end.";
const slots = new Set();

export function showNotice(message, kind = "error") {
  const element = box();
  element.dataset.kind = kind;
  element.setAttribute("role", kind === "error" ? "alert" : "status");
  document.getElementById("notice-text").textContent = message;
  element.hidden = false;
}

export function hideNotice() {
  box().hidden = true;
  for (const slot of slots) slot.hidden = true;
}

export function showError(error) {
  showNotice(error && error.message ? error.message : String(error), "error");
}

// A message in the slot `slotId` (an element beside the control); the toast when the slot is hidden from view.
export function showBeside(slotId, message, kind = "error") {
  const slot = document.getElementById(slotId);
  if (!slot || !slot.parentElement?.checkVisibility()) {
    showNotice(message, kind);
    return;
  }
  slots.add(slot);
  box().hidden = true;
  slot.dataset.kind = kind;
  slot.setAttribute("role", kind === "error" ? "alert" : "status");
  slot.textContent = message;
  slot.hidden = false;
}

// Fill the list `listId` with one item per `{code, message}` note and show `boxId` only when there are any.
export function showNoteList(boxId, listId, notes) {
  document.getElementById(listId).replaceChildren(
    ...notes.map((note) => {
      const item = document.createElement("li");
      item.textContent = note.message;
      item.dataset.code = note.code;
      return item;
    }),
  );
  document.getElementById(boxId).hidden = notes.length === 0;
}

export function bindNotice() {
  document.getElementById("notice-close").addEventListener("click", () => {
    box().hidden = true;
  });
}
