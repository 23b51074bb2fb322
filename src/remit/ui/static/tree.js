// The job tree loads each level a page at a time, when it is first opened.
"use strict";

async function loadInto(target, url, replace) {
  const response = await fetch(url, { headers: { "Accept": "text/html" } });
  const html = response.ok ? await response.text()
    : '<li class="note">could not load (' + response.status + ")</li>";
  if (replace) {
    target.innerHTML = html;
  } else {
    target.insertAdjacentHTML("afterend", html);
    target.remove();
  }
}

// "toggle" does not bubble; listening in the capture phase sees every <details>.
document.addEventListener("toggle", (event) => {
  const details = event.target;
  if (!(details instanceof HTMLDetailsElement) || !details.open) return;
  if (!details.dataset.children || details.dataset.loaded) return;
  details.dataset.loaded = "1";
  loadInto(details.querySelector(":scope > ul"), details.dataset.children, true);
}, true);

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-more]");
  if (!button) return;
  button.disabled = true;
  loadInto(button.parentElement, button.dataset.more, false);
});

// Levels rendered already open (the root job) load as soon as the page is ready.
document.addEventListener("DOMContentLoaded", () => {
  for (const details of document.querySelectorAll("details[open][data-children]")) {
    if (details.dataset.loaded) continue;
    details.dataset.loaded = "1";
    loadInto(details.querySelector(":scope > ul"), details.dataset.children, true);
  }
});
