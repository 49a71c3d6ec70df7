// Home page: stop, delete and create servers, and leave shares, through the REST API.
(function () {
  "use strict";
  var hub = window.kernelhub;
  var error = document.getElementById("home-error");

  function fail(what, button, label) {
    return function (problem) {
      hub.say(error, what + ": " + problem.message);
      if (button) {
        button.disabled = false;
        button.textContent = label;
      }
    };
  }

  // The server a button is about: its data-name, else (in markup written for
  // JupyterHub's home page) its row's data-server-name; "" is the default server.
  function serverName(button) {
    if (button.dataset.name !== undefined) { return button.dataset.name; }
    var row = button.closest("[data-server-name]");
    return row ? row.dataset.serverName : "";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(
      "button.stop-server, button.delete-server, button.leave-share, #stop, a.stop-server, " +
      "button.new-server-btn[type=button]");
    if (!button) { return; }
    event.preventDefault();
    var label = button.textContent;
    var request;
    if (button.classList.contains("new-server-btn")) {
      // JupyterHub's "Add New Server": a plain button next to a .new-server-name input.
      var name = document.querySelector(".new-server-name").value.trim();
      request = hub.api("PUT", hub.serverPath(hub.user, name), {});
    } else if (button.id === "stop" || button.classList.contains("stop-server")) {
      button.textContent = "Stopping…";
      request = hub.api("DELETE", hub.serverPath(hub.user, serverName(button)));
    } else if (button.classList.contains("delete-server")) {
      var doomed = serverName(button);
      if (!window.confirm("Delete the server " + doomed + "? Its record and its shares go; files in your home folder stay.")) {
        return;
      }
      button.textContent = "Deleting…";
      request = hub.api("DELETE", hub.serverPath(hub.user, doomed), { remove: true });
    } else {
      request = hub.api("DELETE", "/users/" + hub.enc(hub.user) + "/shared/" +
                        hub.enc(button.dataset.owner) + "/" + hub.enc(button.dataset.name));
    }
    button.disabled = true;
    request.then(function () { window.location.reload(); },
                 fail("Could not " + label.toLowerCase(), button, label));
  });

  var form = document.getElementById("new-server");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = form.elements.name;
      var displayName = form.elements.display_name.value.trim();
      if (!name.value || !name.checkValidity()) {
        hub.say(error, "The server name must be 1 to 30 lower-case letters, digits and single hyphens, starting with a letter.");
        name.setAttribute("aria-invalid", "true");
        name.focus();
        return;
      }
      name.removeAttribute("aria-invalid");
      var submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      hub.api("PUT", hub.serverPath(hub.user, name.value), displayName ? { display_name: displayName } : {})
        .then(function () { window.location.reload(); },
              fail("Could not create the server", submit, submit.textContent));
    });
  }
})();
