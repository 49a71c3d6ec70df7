// Share page: who has access to a server, share it with a user or a group, and manage
// share links, through the sharing REST API.
(function () {
  "use strict";
  var hub = window.kernelhub;
  var el = hub.el;
  var page = document.getElementById("share-page");
  var path = page.dataset.sharePath;  // owner/server (the default server: owner/)
  var canShare = page.dataset.canShare === "true";
  var error = document.getElementById("share-error");
  var status = document.getElementById("share-status");

  function failed(what) {
    return function (problem) { hub.say(error, what + ": " + problem.message); };
  }

  // What a share's scopes let people do, in words (the scope itself for others).
  var PLAIN = {
    "access:servers": "Use the server",
    "read:servers": "See the server's status",
    "servers": "Start, stop and use the server",
    "shares": "Share it further"
  };
  function permissions(scopes) {
    return scopes.map(function (s) { var base = s.split("!")[0]; return PLAIN[base] || base; }).join(", ");
  }

  function loadShares() {
    return hub.api("GET", "/shares/" + path + "?limit=200").then(function (data) {
      var table = document.getElementById("shares-table");
      var rows = table.querySelector("tbody");
      rows.textContent = "";
      data.items.forEach(function (share) {
        var who = share.user ? share.user.name : share.group.name;
        var kind = share.user ? "user" : "group";
        rows.appendChild(el("tr", { dataset: { who: who, kind: kind } }, [
          el("th", { scope: "row" }, [who, " ", el("span", { className: "badge" }, kind)]),
          el("td", { dataset: { label: "May" } }, permissions(share.scopes)),
          el("td", { dataset: { label: "Since" } }, hub.timeElement(share.created_at)),
          el("td", {}, canShare ? el("button", {
            type: "button", className: "button danger small revoke-share",
            dataset: { who: who, kind: kind }, "aria-label": "Remove " + who
          }, "Remove") : null)
        ]));
      });
      table.hidden = data.items.length === 0;
      document.getElementById("shares-empty").hidden = data.items.length !== 0;
    }).catch(failed("Could not list who has access"));
  }

  function loadCodes() {
    return hub.api("GET", "/share-codes/" + path + "?limit=200").then(function (data) {
      var table = document.getElementById("codes-table");
      var rows = table.querySelector("tbody");
      rows.textContent = "";
      data.items.forEach(function (code) {
        var uses = code.exchange_count === 1 ? "once" : code.exchange_count + " times";
        rows.appendChild(el("tr", { dataset: { id: code.id } }, [
          el("th", { scope: "row" }, hub.timeElement(code.created_at)),
          el("td", { dataset: { label: "Expires" } }, hub.timeElement(code.expires_at, "Never")),
          el("td", { dataset: { label: "Accepted" } }, code.exchange_count ? [uses + ", last ", hub.timeElement(code.last_exchanged_at)] : "Not yet"),
          el("td", {}, canShare ? el("button", {
            type: "button", className: "button danger small revoke-code", dataset: { id: code.id },
            "aria-label": "Revoke the share link made " + hub.relative(code.created_at)
          }, "Revoke") : null)
        ]));
      });
      table.hidden = data.items.length === 0;
      document.getElementById("codes-empty").hidden = data.items.length !== 0;
    }).catch(failed("Could not list share links"));
  }

  var grant = document.getElementById("grant-form");
  if (grant) {
    grant.addEventListener("submit", function (event) {
      event.preventDefault();
      hub.say(error, "");
      var name = grant.elements.name.value.trim();
      if (!name) { grant.elements.name.focus(); return; }
      var body = {};
      body[grant.elements.kind.value] = name;
      hub.api("POST", "/shares/" + path, body).then(function () {
        grant.reset();
        hub.say(status, "Shared with " + name + ".");
        return loadShares();
      }).catch(failed("Could not share with " + name));
    });
  }

  var codeForm = document.getElementById("code-form");
  if (codeForm) {
    codeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      hub.say(error, "");
      var expires = parseInt(codeForm.elements.expires_in.value, 10);
      hub.api("POST", "/share-codes/" + path, { expires_in: expires }).then(function (code) {
        var result = document.getElementById("code-result");
        document.getElementById("code-url").value = code.full_accept_url ||
          (window.location.origin + code.accept_url);
        result.hidden = false;
        result.focus();
        return loadCodes();
      }).catch(failed("Could not create a share link"));
    });
    document.getElementById("copy-code").addEventListener("click", function (event) {
      hub.copy(document.getElementById("code-url"), event.target);
    });
  }

  document.addEventListener("click", function (event) {
    var share = event.target.closest("button.revoke-share");
    var code = event.target.closest("button.revoke-code");
    if (share) {
      var body = {};
      body[share.dataset.kind] = share.dataset.who;
      share.disabled = true;
      hub.api("PATCH", "/shares/" + path, body).then(function () {
        hub.say(status, "No longer shared with " + share.dataset.who + ".");
        return loadShares();
      }).catch(failed("Could not stop sharing"));
    } else if (code) {
      code.disabled = true;
      hub.api("DELETE", "/share-codes/" + path + "?id=" + hub.enc(code.dataset.id)).then(function () {
        hub.say(status, "Share link revoked.");
        return loadCodes();
      }).catch(failed("Could not revoke the share link"));
    }
  });

  loadShares();
  loadCodes();
})();
