// The one message line at the top of the page: errors in plain words, dismissible.

const box = () => document.getElementById("notice");

export function showNotice(message, kind = "error") {
  const element = box();
  element.dataset.kind = kind;
  element.setAttribute("role", kind === "error" ? "alert" : "status");
  document.getElementById("notice-text").textContent = message;
  element.hidden = false;
}

export function hideNotice() {
  box().hidden = true;
}

export function showError(error) {
  showNotice(error && error.message ? error.message : String(error), "error");
}

export function bindNotice() {
  document.getElementById("notice-close").addEventListener("click", hideNotice);
}
