// evalset: small enhancements over pages that work without JavaScript. Requests made here carry
// htmx's header (HX-Request: true), so the server answers with a fragment: a block of the page.
"use strict";

function post(url, body) {
  return fetch(url, { method: "POST", body, headers: { "HX-Request": "true" }, credentials: "same-origin" });
}

function followRedirect(response) {
  const target = response.headers.get("HX-Redirect");
  if (target) { window.location.assign(target); return true; }
  return false;
}

// A row's Delete button (inside the bulk form): delete in place and remove the row at once.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-remove]");
  if (!button) return;
  event.preventDefault();
  const body = new FormData();
  body.append("csrf_token", button.form.elements.csrf_token.value);
  button.disabled = true;
  const response = await post(button.getAttribute("formaction"), body);
  if (followRedirect(response)) return;
  if (response.ok) {
    document.querySelector(button.dataset.remove)?.remove();
  } else {
    button.disabled = false;
    document.open(); document.write(await response.text()); document.close();
  }
});

// Forms asking for a confirmation first (revoking a key).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Select all rows.
document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-select-all]")) return;
  for (const box of event.target.form.querySelectorAll('input[name="case_id"]')) box.checked = event.target.checked;
});

// Copy buttons.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  field.select();
  try { await navigator.clipboard.writeText(field.value); } catch { document.execCommand("copy"); }
  button.textContent = "Copied";
});

// JSON editors: report a syntax error beside the field while typing, and block submitting it.
function checkJson(area) {
  const slot = document.getElementById(area.id + "-error");
  let message = "";
  if (area.value.trim() !== "") {
    try { JSON.parse(area.value); } catch (error) { message = "Invalid JSON: " + error.message; }
  }
  area.setCustomValidity(message);
  if (slot && (message || slot.dataset.jsonError)) {
    slot.textContent = message; slot.hidden = !message; slot.dataset.jsonError = message ? "1" : "";
  }
  if (message) area.setAttribute("aria-invalid", "true"); else area.removeAttribute("aria-invalid");
}
document.addEventListener("input", (event) => {
  if (event.target.matches("textarea[data-json]")) checkJson(event.target);
});

// Case forms: ask the server to check the whole form as fields change (schema errors beside fields).
let pending = null;
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-validate]");
  if (!form) return;
  clearTimeout(pending);
  pending = setTimeout(() => validate(form), 250);
});

async function validate(form) {
  const response = await post(form.getAttribute("data-validate"), new FormData(form));  // not form.dataset: a field named "dataset" shadows it
  if (followRedirect(response) || !response.ok) return;
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const found = new Map();
  for (const p of doc.querySelectorAll("template#validation, #validation")) {
    for (const item of (p.content || p).querySelectorAll("[data-for]")) found.set(item.dataset.for, item.textContent);
  }
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    const message = found.get(slot.dataset.errorFor) || "";
    slot.textContent = message;
    slot.hidden = !message;
    const input = form.querySelector(`[aria-describedby~="${slot.id}"]`);
    if (input && message) input.setAttribute("aria-invalid", "true"); else if (input) input.removeAttribute("aria-invalid");
  }
}

// Filters and pages of a list: fetch the list's block alone and swap it in (the address bar follows).
async function swapIn(url, selector) {
  const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
  if (followRedirect(response)) return;
  if (!response.ok) { window.location.assign(url); return; }
  const target = document.querySelector(selector);
  target.outerHTML = await response.text();
  liveControls();
  history.pushState({ fragment: selector }, "", url);
}
document.addEventListener("submit", (event) => {
  const form = event.target;  // attributes, not form.dataset/method/action: a field of that name shadows them
  const fragment = form.getAttribute("data-fragment");
  if (!fragment || (form.getAttribute("method") || "get").toLowerCase() !== "get") return;
  event.preventDefault();
  const url = new URL(form.getAttribute("action") || location.href, location.href);
  url.search = new URLSearchParams(new FormData(form)).toString();
  swapIn(url.toString(), fragment);
});
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-fragment]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  swapIn(link.href, link.dataset.fragment);
});
window.addEventListener("popstate", (event) => {
  if (event.state && event.state.fragment) window.location.reload();
});

// Live lists ([data-poll]): fetch the list's block again every few seconds and swap it in, while the
// tab is visible, nothing inside has focus, and the visitor has not paused it (the pause outlives swaps).
const POLL_MS = 3000;
let livePaused = false;
function liveControls() {
  const block = document.querySelector("[data-poll]");
  const button = block?.querySelector("[data-live-toggle]");
  if (!button) return;
  button.hidden = false;
  button.setAttribute("aria-pressed", String(livePaused));
  button.textContent = livePaused ? "Resume live updates" : "Pause live updates";
  const status = block.querySelector("[data-live-status]");
  if (status) status.textContent = livePaused
    ? "Live updates paused."
    : "Showing the newest traces; this list refreshes every few seconds.";
}
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-live-toggle]");
  if (!button) return;
  livePaused = !livePaused;
  liveControls();
});
function busy(block) {  // the visitor is on a control inside (not the pause button) or has ticked a box: leave it be
  const focused = document.activeElement;
  return (block.contains(focused) && !focused.matches("[data-live-toggle]")) || block.querySelector("input:checked");
}
async function poll() {
  const block = document.querySelector("[data-poll]");
  if (!block || livePaused || document.hidden || busy(block)) return;
  const response = await fetch(block.dataset.poll, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
  if (followRedirect(response) || !response.ok) return;
  const html = await response.text();
  if (document.querySelector("[data-poll]") !== block || livePaused || busy(block)) return;
  const hadFocus = block.contains(document.activeElement);
  block.outerHTML = html;
  liveControls();
  if (hadFocus) document.querySelector("[data-live-toggle]")?.focus();
}
document.addEventListener("DOMContentLoaded", () => {
  liveControls();
  setInterval(poll, POLL_MS);  // does nothing on pages without a live list
});

// Add to Dataset's mapping: typing a JSON path chooses "A JSON path" for that field.
document.addEventListener("input", (event) => {
  const input = event.target.closest(".mapping input[data-path-for]");
  if (!input) return;
  const radio = input.form.querySelector(`input[type=radio][name="${input.dataset.pathFor}_from"][value=path]`);
  if (radio) radio.checked = true;
});
