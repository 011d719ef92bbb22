/* Organizer uploads with a progress bar: forms marked data-progress post their
 * FormData with XMLHttpRequest and show the upload's progress. The answer is the
 * page the plain form post would have led to: a success lands on it, a refusal
 * replaces the page's main content with it. Without this script (or without
 * XMLHttpRequest upload events) the forms post as they are. No framework. */
(function () {
  "use strict";

  function status(form) {
    var line = form.querySelector(".upload-status");
    if (!line) {
      line = document.createElement("p");
      line.className = "upload-status";
      line.setAttribute("role", "status");
      form.appendChild(line);
    }
    return line;
  }

  function replaceMain(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("main");
    var current = document.querySelector("main");
    if (fresh && current) {
      current.replaceWith(document.importNode(fresh, true));
      document.title = doc.title;
      window.scrollTo(0, 0);
    }
  }

  function send(form) {
    var bar = form.querySelector("progress");
    var button = form.querySelector("button[type=submit]");
    var line = status(form);
    var request = new XMLHttpRequest();
    request.open("POST", form.getAttribute("action"));
    request.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round((event.loaded / event.total) * 100);
      bar.value = percent;
      line.textContent = "Uploading: " + percent + " % of " + Math.round(event.total / 1024) + " KB";
    });
    request.upload.addEventListener("load", function () {
      bar.value = 100;
      line.textContent = "Uploaded; the server is checking the file…";
    });
    request.addEventListener("load", function () {
      if (request.status >= 200 && request.status < 300 && request.responseURL.indexOf(form.getAttribute("action")) === -1) {
        window.location.assign(request.responseURL);  // the page a plain post leads to
      } else {
        replaceMain(request.responseText);
      }
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      bar.hidden = true;
      line.textContent = "The upload failed (connection lost). Try again.";
    });
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    request.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-progress")) return;
    if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
    event.preventDefault();
    send(form);
  });
})();
