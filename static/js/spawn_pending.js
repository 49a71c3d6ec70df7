// Spawn-pending page: follow the progress event stream, then open the server.
(function () {
  "use strict";
  var section = document.getElementById("spawn-pending");
  var bar = document.getElementById("progress-bar");
  var message = document.getElementById("progress-message");
  var log = document.getElementById("progress-log");
  var error = document.getElementById("progress-error");
  var source = new EventSource(section.dataset.progressUrl);

  source.onmessage = function (event) {
    var data = JSON.parse(event.data);
    if (typeof data.progress === "number") {
      bar.value = data.progress;
      bar.textContent = data.progress + "%";
    }
    if (data.message) {
      message.textContent = data.message;
      var item = document.createElement("li");
      item.textContent = data.message;
      log.appendChild(item);
    }
    if (data.ready) {
      source.close();
      window.location.replace(section.dataset.nextUrl || data.url);
    } else if (data.failed) {
      source.close();
      error.textContent = data.message;
      error.hidden = false;
    }
  };
  source.onerror = function () {
    // The stream ends after the last event; reloading shows the final state.
    source.close();
    setTimeout(function () { window.location.reload(); }, 1000);
  };
})();
