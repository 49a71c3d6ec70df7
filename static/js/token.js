// Token page: list, create and revoke the person's tokens through the REST API.
(function () {
  "use strict";
  var hub = window.kernelhub;
  var el = hub.el;
  var base = "/users/" + hub.enc(hub.user) + "/tokens";
  var error = document.getElementById("token-error");
  var status = document.getElementById("tokens-status");
  var form = document.getElementById("request-token-form");
  var scopesInput = document.getElementById("token-scopes");
  var result = document.getElementById("token-area");

  function scopeSummary(scopes) {
    var shown = scopes.slice(0, 4).join(" ");
    var cell = el("td", { className: "scopes-cell scope-col" }, el("code", {}, shown));
    if (scopes.length > 4) {
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(el("span", { className: "muted", title: scopes.join(" ") },
                          "and " + (scopes.length - 4) + " more"));
    }
    return cell;
  }

  function revokeButton(token, label) {
    return el("button", { type: "button", className: "button danger small revoke-token revoke-token-btn",
                          dataset: { id: token.id }, "aria-label": label }, "Revoke");
  }

  function load() {
    return hub.api("GET", base).then(function (data) {
      var own = data.api_tokens.filter(function (t) { return t.oauth_client === "JupyterHub" || !t.oauth_client; });
      var apps = data.api_tokens.filter(function (t) { return t.oauth_client && t.oauth_client !== "JupyterHub"; });
      var table = document.getElementById("api-tokens-table");
      var rows = table.querySelector("tbody");
      rows.textContent = "";
      own.forEach(function (token) {
        var note = token.note || "(no note)";
        rows.appendChild(el("tr", { className: "token-row", dataset: { id: token.id, tokenId: token.id } }, [
          el("th", { scope: "row", className: "note-col" }, note),
          scopeSummary(token.scopes),
          el("td", { className: "time-col", dataset: { label: "Created" } }, hub.timeElement(token.created)),
          el("td", { className: "time-col", dataset: { label: "Last used" } }, hub.timeElement(token.last_activity, "Never")),
          el("td", { className: "time-col", dataset: { label: "Expires" } }, hub.timeElement(token.expires_at, "Never")),
          el("td", {}, revokeButton(token, "Revoke token " + note))
        ]));
      });
      table.hidden = own.length === 0;
      hub.say(status, own.length ? own.length + (own.length === 1 ? " token" : " tokens") : "You have no tokens.");
      var appRows = document.querySelector("#oauth-tokens-table tbody");
      appRows.textContent = "";
      apps.forEach(function (token) {
        appRows.appendChild(el("tr", { className: "token-row", dataset: { id: token.id, tokenId: token.id } }, [
          el("th", { scope: "row", className: "note-col" }, token.oauth_client),
          scopeSummary(token.scopes),
          el("td", { className: "time-col", dataset: { label: "Last used" } }, hub.timeElement(token.last_activity, "Never")),
          el("td", {}, revokeButton(token, "Revoke access of " + token.oauth_client))
        ]));
      });
      document.getElementById("oauth-clients-section").hidden = apps.length === 0;
    }).catch(function (problem) {
      hub.say(status, "");
      hub.say(error, "Could not list your tokens: " + problem.message);
    });
  }

  form.addEventListener("change", function () {
    scopesInput.disabled = form.elements.scope_choice.value !== "some";
    if (!scopesInput.disabled) { scopesInput.focus(); }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    hub.say(error, "");
    // As JupyterHub's token page: without a note, say where the token came from.
    var body = { note: form.elements.note.value.trim() || "Requested via token page" };
    var expires = form.elements.expires_in.value;
    body.expires_in = expires ? parseInt(expires, 10) : null;
    if (form.elements.scope_choice.value === "some") {
      var scopes = scopesInput.value.split(/[\s,]+/).filter(Boolean);
      if (!scopes.length) {
        hub.say(error, "Name at least one scope, or choose \u201cEverything I can do\u201d.");
        scopesInput.focus();
        return;
      }
      body.scopes = scopes;
    }
    var submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    hub.api("POST", base, body).then(function (token) {
      document.getElementById("token-result").value = token.token;
      result.hidden = false;
      result.focus();
      form.reset();
      scopesInput.disabled = true;
      return load();
    }).catch(function (problem) {
      hub.say(error, "Could not create the token: " + problem.message);
    }).then(function () { submit.disabled = false; });
  });

  document.getElementById("copy-token").addEventListener("click", function (event) {
    hub.copy(document.getElementById("token-result"), event.target);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.revoke-token");
    if (!button) { return; }
    button.disabled = true;
    hub.api("DELETE", base + "/" + hub.enc(button.dataset.id)).then(function () {
      hub.say(status, "Revoked.");
      return load();
    }).catch(function (problem) {
      button.disabled = false;
      hub.say(error, "Could not revoke the token: " + problem.message);
    });
  });

  load();
})();
