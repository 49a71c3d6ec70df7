// Home page: stop a server through the REST API (the page's XSRF token authorizes the call).
(function () {
  "use strict";
  var table = document.querySelector("table.servers");
  if (!table) { return; }
  var api = table.dataset.api;
  var user = encodeURIComponent(table.dataset.user);
  var error = document.getElementById("home-error");

  function serverPath(name) {
    return api + "/users/" + user + (name ? "/servers/" + encodeURIComponent(name) : "/server");
  }

  table.addEventListener("click", function (event) {
    var button = event.target.closest("button.stop-server");
    if (!button) { return; }
    button.disabled = true;
    button.textContent = "Stopping…";
    fetch(serverPath(button.dataset.name), {
      method: "DELETE",
      headers: { "X-XSRFToken": table.dataset.xsrf },
      credentials: "same-origin"
    }).then(function (response) {
      if (response.ok) { window.location.reload(); return; }
      return response.json().then(function (body) { throw new Error(body.message); });
    }).catch(function (problem) {
      error.textContent = "Could not stop the server: " + problem.message;
      error.hidden = false;
      button.disabled = false;
      button.textContent = "Stop";
    });
  });
})();
