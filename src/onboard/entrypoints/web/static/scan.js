// The camera view of the mobile app's scan page (/m/scan). The page works without this
// file: typed entry and a photo go through plain forms. With it, the back camera looks for
// a QR code; the browser decodes it where it can (BarcodeDetector), otherwise a few frames
// a second go to the server (POST /m/scan/frame). The first text found is submitted
// through the typed-entry form, exactly as if it had been typed.
"use strict";

(function () {
  const root = document.querySelector("[data-scanner]");
  if (!root) {
    return;
  }
  const form = document.getElementById(root.dataset.form);
  const input = form && form.querySelector("[name=payload]");
  const tokenField = form && form.querySelector("[name=csrf_token]");
  const video = root.querySelector("video");
  const status = root.querySelector("[data-scan-status]");
  const frameUrl = root.dataset.frameUrl;
  const INTERVAL_MS = 300; // a few frames a second: enough to feel instant, light on the server
  const MAX_SIDE = 960; // frames are scaled down: a QR held up to the camera stays readable
  const QUALITY = 0.8;
  const canvas = document.createElement("canvas");
  let stream = null;
  let finished = false;

  function say(text) {
    status.textContent = text;
  }

  function stop() {
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
      stream = null;
    }
  }

  function submit(text) {
    if (finished) {
      return;
    }
    finished = true;
    stop();
    root.dataset.found = "true";
    say("Code found. Opening…");
    input.value = text;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  async function browserDetector() {
    if (!("BarcodeDetector" in window)) {
      return null;
    }
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (!formats.includes("qr_code")) {
        return null;
      }
      return new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (error) {
      return null;
    }
  }

  function ready() {
    return video.readyState >= 2 && video.videoWidth > 0;
  }

  async function detectInBrowser(detector) {
    if (!ready()) {
      return null;
    }
    const found = await detector.detect(video);
    return found.length ? found[0].rawValue : null;
  }

  function frame() {
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
  }

  async function detectOnServer() {
    if (!ready()) {
      return null;
    }
    const blob = await frame();
    if (!blob) {
      return null;
    }
    const answer = await fetch(frameUrl, {
      method: "POST",
      body: blob,
      credentials: "same-origin",
      headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": tokenField.value },
    });
    if (answer.status === 403) {
      finished = true;
      stop();
      say("This page has expired. Reload it to scan again.");
      return null;
    }
    if (!answer.ok || !(answer.headers.get("content-type") || "").includes("json")) {
      return null;
    }
    const body = await answer.json();
    return body.text || null;
  }

  function watch(detector) {
    const look = detector ? () => detectInBrowser(detector) : detectOnServer;
    async function tick() {
      if (finished) {
        return;
      }
      try {
        const text = await look();
        if (text) {
          submit(text);
          return;
        }
      } catch (error) {
        // A frame that could not be read or sent: try the next one.
      }
      window.setTimeout(tick, INTERVAL_MS);
    }
    tick();
  }

  async function start() {
    if (!form || !input || !tokenField || !video || !status) {
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return; // no camera API (or not a secure origin): the forms below remain
    }
    root.hidden = false;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
    } catch (error) {
      root.classList.add("is-off");
      say("The camera is not available. Type the code or take a photo of it below.");
      return;
    }
    video.srcObject = stream;
    try {
      await video.play();
    } catch (error) {
      // Autoplay of a muted video is allowed; frames are read once they come anyway.
    }
    const detector = await browserDetector();
    root.dataset.decoder = detector ? "browser" : "server";
    say("Point the camera at the QR code.");
    watch(detector);
  }

  // The camera stops when the page is left, and starts again when it is shown again
  // from the back-forward cache.
  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && !stream) {
      finished = false;
      start();
    }
  });

  // A photo chosen in the fallback form is read at once.
  document.querySelectorAll("[data-autosubmit]").forEach((picker) => {
    picker.addEventListener("change", () => {
      if (picker.files && picker.files.length && picker.form) {
        if (typeof picker.form.requestSubmit === "function") {
          picker.form.requestSubmit();
        } else {
          picker.form.submit();
        }
      }
    });
  });

  start();
})();
