// Batch enrollment's upload page (SPEC C7). Without JavaScript the form posts and the
// report comes once the import is done. With it, the list goes up with XMLHttpRequest so
// that the page shows how far the upload has come, then the server answers with JSON
// lines of its progress (reading the rows, checking the list, enrolling) and, last, the
// page to show: the report, or the form with the reason it was refused.
(function () {
  "use strict";

  const form = document.querySelector("form[data-import]");
  const box = document.querySelector("[data-import-progress]");
  if (!form || !box || !window.XMLHttpRequest || !window.DOMParser) {
    return;
  }
  const bar = box.querySelector("progress");
  const status = box.querySelector("[data-import-status]");
  const button = form.querySelector("button[type=submit]");
  const PHASES = {
    uploading: "Uploading the list",
    reading: "Reading and checking the rows",
    checking: "Checking the list as a whole",
    applying: "Enrolling",
  };

  function show(phase, done, total) {
    box.hidden = false;
    if (total > 0) {
      bar.max = total;
      bar.value = Math.min(done, total);
    } else {
      bar.removeAttribute("value"); // under way, size unknown
    }
    const share = total > 0 ? " · " + Math.floor((100 * Math.min(done, total)) / total) + " %" : "…";
    status.textContent = (PHASES[phase] || phase) + share;
  }

  function showPage(html) {
    const next = new DOMParser().parseFromString(html, "text/html");
    document.title = next.title;
    document.body.replaceWith(next.body);
    window.scrollTo(0, 0);
  }

  function lost() {
    button.disabled = false;
    status.textContent =
      "The connection was lost before the import was confirmed. Look at the enrollments " +
      "before sending the list again: sending it again is safe.";
  }

  form.addEventListener("submit", function (event) {
    if (!form.checkValidity()) {
      return; // the browser says what is missing
    }
    event.preventDefault();
    const request = new XMLHttpRequest();
    let read = 0;
    let ended = false;

    function streamed() {
      return (request.getResponseHeader("Content-Type") || "").startsWith("application/x-ndjson");
    }

    function consume() {
      const text = request.responseText;
      let end;
      while ((end = text.indexOf("\n", read)) !== -1) {
        const line = text.slice(read, end);
        read = end + 1;
        if (!line) {
          continue;
        }
        const message = JSON.parse(line);
        if ("status" in message) {
          ended = true;
          if (message.page) {
            showPage(message.page);
          } else {
            lost();
          }
        } else {
          show(message.phase, message.done, message.total);
        }
      }
    }

    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/x-ndjson");
    request.upload.addEventListener("progress", function (e) {
      show("uploading", e.loaded, e.lengthComputable ? e.total : 0);
    });
    request.addEventListener("progress", function () {
      if (streamed()) {
        consume();
      }
    });
    request.addEventListener("load", function () {
      if (!streamed()) {
        showPage(request.responseText); // refused before the import began
        return;
      }
      consume();
      if (!ended) {
        lost();
      }
    });
    request.addEventListener("error", lost);
    button.disabled = true;
    show("uploading", 0, 0);
    request.send(new FormData(form));
  });
})();
