// The "Assign device" page (POST /licenses/{id}/assign, SPEC B4): counts the shown
// single-use pairing code down, fetches a new one when it ends (a limited number of times,
// then asks), and watches the license: once a device has paired with it, the page says
// which and stops. Without this file the page still shows the code, its link and a button
// for a new one.
"use strict";

(function () {
  const root = document.querySelector("[data-assign]");
  if (!root) {
    return;
  }
  const slot = root.querySelector("[data-code-slot]");
  const status = root.querySelector("[data-assign-status]");
  const newCode = root.querySelector("[data-new-code]");
  const token = newCode.querySelector("input[type=hidden]");
  const POLL_MS = 2000;
  const RETRY_MS = 1000;
  let replacementsLeft = Number(root.dataset.replacements);
  let deadline = 0;
  let ticking = null;
  let polling = null;
  let done = false;

  function say(text) {
    status.textContent = text;
  }

  function shownCode() {
    return slot.querySelector("[data-pairing-code]");
  }

  function start() {
    deadline = Date.now() + Number(shownCode().dataset.seconds) * 1000;
    tick();
  }

  function tick() {
    if (done) {
      return;
    }
    const code = shownCode();
    const remaining = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    code.querySelector("[data-countdown]").textContent = String(remaining);
    if (remaining > 0) {
      ticking = window.setTimeout(tick, 250);
      return;
    }
    code.classList.add("expired");
    if (replacementsLeft <= 0) {
      say("The code has expired. Show a new code when the device is ready to scan it.");
      return;
    }
    replacementsLeft -= 1;
    replace(0);
  }

  async function replace(attempt) {
    const body = new FormData();
    body.append(token.name, token.value);
    let answer;
    try {
      answer = await fetch(root.dataset.replaceUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
      });
    } catch (error) {
      say("Could not reach onboard for a new code. Show a new code to try again.");
      return;
    }
    if (answer.ok) {
      slot.innerHTML = await answer.text();
      say("The code expired; this is a new one.");
      start();
      return;
    }
    // The old code may still hold the license for a moment (clocks differ by a little),
    // or a device has just paired with it: look again before giving up.
    if (answer.status === 409 && attempt < 3) {
      await poll();
      if (!done) {
        window.setTimeout(function () { replace(attempt + 1); }, RETRY_MS);
      }
      return;
    }
    say("No new code could be made for this license. Go back to the licenses and pick a free one.");
  }

  async function poll() {
    let answer;
    try {
      answer = await fetch(root.dataset.stateUrl, { credentials: "same-origin" });
    } catch (error) {
      return;
    }
    if (!answer.ok) {
      return;
    }
    const state = await answer.json();
    if (state.status !== "assigned" || done) {
      return;
    }
    done = true;
    window.clearTimeout(ticking);
    window.clearInterval(polling);
    const paired = document.createElement("p");
    paired.className = "assign-paired";
    paired.append("A device has paired with this license");
    if (state.device_url) {
      const link = document.createElement("a");
      link.href = state.device_url;
      link.textContent = state.device_name;
      paired.append(": ", link);
    }
    paired.append(".");
    slot.replaceChildren(paired);
    newCode.remove();
    say("Paired.");
  }

  polling = window.setInterval(poll, POLL_MS);
  start();
})();
