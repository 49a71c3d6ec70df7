// Spawn-pending page: follow the progress event stream, then open the server; on a
// failure, say why and offer to try again.
(function () {
  "use strict";
  var section = document.getElementById("spawn-pending");
  var heading = document.getElementById("pending-heading");
  var bar = document.getElementById("progress-bar");
  var percent = document.getElementById("progress-percent");
  var message = document.getElementById("progress-message");
  var log = document.getElementById("progress-log");
  var error = document.getElementById("progress-error");
  var retry = document.getElementById("retry");
  var area = document.getElementById("progress-area");
  var finished = false;
  var source = new EventSource(section.dataset.progressUrl);

  function show(progress) {
    bar.value = progress;
    bar.textContent = progress + "%";
    percent.textContent = progress + "%";
  }

  source.onmessage = function (event) {
    var data = JSON.parse(event.data);
    if (typeof data.progress === "number") { show(data.progress); }
    if (data.message) {
      message.textContent = data.message;
      var item = document.createElement("li");
      item.textContent = data.message;
      log.appendChild(item);
    }
    if (data.ready) {
      finished = true;
      source.close();
      section.dataset.state = "ready";
      // Let the full bar be seen before leaving.
      setTimeout(function () { window.location.replace(section.dataset.nextUrl || data.url); }, 400);
    } else if (data.failed) {
      finished = true;
      source.close();
      section.dataset.state = "failed";
      heading.textContent = heading.dataset.failedText;
      error.textContent = data.message || "The server did not start.";
      error.hidden = false;
      retry.hidden = false;
      area.hidden = true;
      document.getElementById("retry-link").focus();
    }
  };
  source.onerror = function () {
    if (finished) { return; }
    // The stream ended or the hub restarted: reloading shows the server's state now.
    source.close();
    setTimeout(function () { window.location.reload(); }, 1000);
  };
})();
