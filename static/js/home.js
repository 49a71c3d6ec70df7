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

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.stop-server, button.delete-server, button.leave-share");
    if (!button) { return; }
    var label = button.textContent;
    var request;
    if (button.classList.contains("stop-server")) {
      button.textContent = "Stopping…";
      request = hub.api("DELETE", hub.serverPath(hub.user, button.dataset.name));
    } else if (button.classList.contains("delete-server")) {
      if (!window.confirm("Delete the server " + button.dataset.name + "? Its record and its shares go; files in your home folder stay.")) {
        return;
      }
      button.textContent = "Deleting…";
      request = hub.api("DELETE", hub.serverPath(hub.user, button.dataset.name), { remove: true });
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
