// Sign-in for a server with API_TOKEN set: the page asks for the token once and the server answers with a
// session cookie (HttpOnly, so no script here ever sees it) that every later request carries, including the
// <audio> element and download links. Sign-out asks the server to clear the cookie, then starts the page afresh.

import { request } from "./api.js";

// Resolves once the page may use the API: at once when no sign-in is needed or a session is held, otherwise
// when the visitor has signed in with the form.
export async function signIn() {
  const state = await request("GET", "/api/session");
  if (!state.required) return;
  if (!state.signedIn) await askForToken();
  bindSignOut();
}

function askForToken() {
  const card = document.getElementById("signin");
  const main = document.querySelector("main.layout");
  const form = document.getElementById("signin-form");
  const input = document.getElementById("signin-token");
  const button = document.getElementById("signin-button");
  const message = document.getElementById("signin-error");
  main.hidden = true;
  card.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      message.hidden = true;
      button.disabled = true;
      try {
        await request("POST", "/api/session", { token: input.value });
      } catch (error) {
        message.textContent = error.message;
        message.hidden = false;
        input.select();
        return;
      } finally {
        button.disabled = false;
      }
      input.value = "";
      card.hidden = true;
      main.hidden = false;
      resolve();
    });
  });
}

function bindSignOut() {
  const button = document.getElementById("signout-button");
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await request("DELETE", "/api/session");
    } finally {
      location.reload();
    }
  });
}
