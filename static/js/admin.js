// Admin page: find users with server-side search, sort and pages; start and stop their
// servers (one by one or selected together); add, edit and delete users. Everything goes
// through the REST API, one page of users at a time, so it stays fast with 10,000 users.
(function () {
  "use strict";
  var hub = window.kernelhub;
  var el = hub.el;
  var root = document.getElementById("admin");
  var namedServers = root.dataset.namedServers === "true";
  var adminAccess = root.dataset.adminAccess === "true";
  var table = document.getElementById("users-table");
  var rows = table.querySelector("tbody");
  var status = document.getElementById("admin-status");
  var error = document.getElementById("admin-error");
  var filters = document.getElementById("filters");
  var search = document.getElementById("search");
  var selectPage = document.getElementById("select-page");
  var PAGINATED = { "Accept": "application/jupyterhub-pagination+json" };

  // What is shown; kept in the address so that reloading or sharing it shows the same.
  var query = readQuery();
  var total = 0;
  var shown = [];
  var selected = new Set();
  var loading = 0;  // the number of the latest request: older answers are dropped
  var refreshTimer = null;
  var pendingRefreshes = 0;

  function readQuery() {
    var params = new URLSearchParams(window.location.search);
    return {
      name_filter: params.get("name_filter") || "",
      state: params.get("state") || "",
      sort: params.get("sort") || "name",
      offset: Math.max(0, parseInt(params.get("offset") || "0", 10) || 0),
      limit: parseInt(params.get("limit") || root.dataset.pageSize, 10) || 50
    };
  }

  function writeQuery() {
    var params = new URLSearchParams();
    if (query.name_filter) { params.set("name_filter", query.name_filter); }
    if (query.state) { params.set("state", query.state); }
    if (query.sort !== "name") { params.set("sort", query.sort); }
    if (query.offset) { params.set("offset", query.offset); }
    if (String(query.limit) !== root.dataset.pageSize) { params.set("limit", query.limit); }
    var text = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (text ? "?" + text : ""));
  }

  function apiQuery() {
    var params = new URLSearchParams({
      offset: query.offset, limit: query.limit, sort: query.sort, include_stopped_servers: "1"
    });
    if (query.name_filter) { params.set("name_filter", query.name_filter); }
    if (query.state) { params.set("state", query.state); }
    return "/users?" + params.toString();
  }

  function fail(what) {
    return function (problem) { hub.say(error, what + ": " + problem.message); };
  }

  // -- loading and showing a page of users ------------------------------------------

  function load(options) {
    var number = ++loading;
    writeQuery();
    if (!(options && options.quiet)) { table.setAttribute("aria-busy", "true"); }
    return hub.api("GET", apiQuery(), undefined, PAGINATED).then(function (data) {
      if (number !== loading) { return; }
      total = data._pagination.total;
      if (query.offset > 0 && query.offset >= total) {
        // The last page emptied (users deleted, a narrower search): show the new last one.
        query.offset = Math.max(0, Math.floor((total - 1) / query.limit) * query.limit);
        return load(options);
      }
      shown = data.items;
      render();
      hub.say(error, "");
      scheduleRefresh();
    }).catch(function (problem) {
      if (number === loading) { fail("Could not load users")(problem); }
    }).then(function () {
      if (number === loading) { table.removeAttribute("aria-busy"); }
    });
  }

  function serverState(server) {
    if (server.ready) { return ["Running", "ok"]; }
    if (server.pending === "spawn") { return ["Starting", "busy"]; }
    if (server.pending === "stop") { return ["Stopping", "busy"]; }
    if (server.pending) { return [server.pending, "busy"]; }
    return ["Stopped", ""];
  }

  function serverLine(user, server) {
    var state = serverState(server);
    var label = server.name ? (server.display_name || server.name) : "Default";
    var actions = el("span", { className: "server-actions" });
    var who = user.name + (server.name ? "'s server " + server.name : "'s server");
    if (server.ready || server.pending === "spawn") {
      actions.appendChild(el("button", {
        type: "button", className: "button secondary small stop-server",
        "aria-label": "Stop " + who
      }, "Stop"));
    } else if (!server.pending) {
      actions.appendChild(el("button", {
        type: "button", className: "button primary small start-server",
        "aria-label": "Start " + who
      }, "Start"));
    }
    if (server.ready && adminAccess) {
      actions.appendChild(el("a", { className: "button secondary small", href: server.url,
                                    "aria-label": "Open " + who }, "Open"));
    }
    return el("div", { className: "server-line", dataset: { server: server.name } }, [
      el("span", { className: "server-name" }, label),
      el("span", { className: "badge " + state[1] }, state[0]),
      server.last_activity ? el("span", { className: "muted small-text" },
                                ["active ", hub.timeElement(server.last_activity)]) : null,
      actions
    ]);
  }

  function userRow(user) {
    var servers = user.servers || {};
    var names = Object.keys(servers).filter(function (n) { return n && namedServers; }).sort();
    var lines = [serverLine(user, servers[""] || { name: "", ready: false, pending: null })];
    names.forEach(function (name) { lines.push(serverLine(user, servers[name])); });
    var box = el("input", { type: "checkbox", className: "select-user", checked: selected.has(user.name),
                            "aria-label": "Select " + user.name });
    return el("tr", { dataset: { user: user.name } }, [
      el("td", { className: "select-col" }, box),
      el("th", { scope: "row", className: "user-name" }, [
        user.name, user.admin ? el("span", { className: "badge admin" }, "admin") : null
      ]),
      el("td", { className: "groups", dataset: { label: "Groups" } }, user.groups && user.groups.length ? user.groups.join(", ") :
         el("span", { className: "muted" }, "None")),
      el("td", { className: "servers-cell" }, lines),
      el("td", { dataset: { label: "Last activity" } }, hub.timeElement(user.last_activity, "Never")),
      el("td", { className: "row-actions" }, [
        el("button", { type: "button", className: "button secondary small edit-user",
                       "aria-label": "Edit " + user.name }, "Edit"),
        el("button", { type: "button", className: "button danger small delete-user",
                       "aria-label": "Delete " + user.name,
                       disabled: user.name === hub.user }, "Delete")
      ])
    ]);
  }

  function render() {
    rows.textContent = "";
    if (!shown.length) {
      rows.appendChild(el("tr", {}, el("td", { colSpan: 6, className: "empty" },
        query.name_filter ? "No user's name contains \u201c" + query.name_filter + "\u201d." : "No users.")));
    }
    shown.forEach(function (user) { rows.appendChild(userRow(user)); });
    var first = total ? query.offset + 1 : 0;
    var last = Math.min(query.offset + query.limit, total);
    var text = total ? "Users " + first.toLocaleString() + "\u2013" + last.toLocaleString() + " of " +
      total.toLocaleString() : "No users found";
    if (query.name_filter) { text += " matching \u201c" + query.name_filter + "\u201d"; }
    document.getElementById("page-info").textContent = total ?
      "Page " + (Math.floor(query.offset / query.limit) + 1) + " of " + Math.ceil(total / query.limit) : "";
    hub.say(status, text);
    document.getElementById("first-page").disabled = query.offset === 0;
    document.getElementById("previous-page").disabled = query.offset === 0;
    document.getElementById("next-page").disabled = query.offset + query.limit >= total;
    document.getElementById("last-page").disabled = query.offset + query.limit >= total;
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      var key = query.sort.replace(/^-/, "");
      th.setAttribute("aria-sort", th.dataset.sort !== key ? "none" :
                      query.sort.charAt(0) === "-" ? "descending" : "ascending");
    });
    updateSelection();
  }

  // While a server shown is starting or stopping, look again shortly (a few times).
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    var busy = shown.some(function (user) {
      return Object.keys(user.servers || {}).some(function (n) { return user.servers[n].pending; });
    });
    if (busy && pendingRefreshes < 60) {
      pendingRefreshes += 1;
      refreshTimer = setTimeout(function () { load({ quiet: true }); }, 1000);
    } else if (!busy) {
      pendingRefreshes = 0;
    }
  }

  // -- selection and bulk actions ---------------------------------------------------

  function updateSelection() {
    var count = selected.size;
    document.getElementById("selection-count").textContent =
      count ? count + (count === 1 ? " user selected" : " users selected") : "No users selected";
    document.getElementById("bulk-start").disabled = !count;
    document.getElementById("bulk-stop").disabled = !count;
    var onPage = shown.filter(function (u) { return selected.has(u.name); }).length;
    selectPage.checked = shown.length > 0 && onPage === shown.length;
    selectPage.indeterminate = onPage > 0 && onPage < shown.length;
  }

  // Run `work` for each name, a few at a time; resolves with the names that failed.
  function eachLimited(names, work) {
    var failures = [];
    var queue = names.slice();
    function next() {
      var name = queue.shift();
      if (name === undefined) { return Promise.resolve(); }
      return work(name).catch(function (problem) {
        failures.push(name + ": " + problem.message);
      }).then(next);
    }
    var workers = [];
    for (var i = 0; i < Math.min(8, names.length); i++) { workers.push(next()); }
    return Promise.all(workers).then(function () { return failures; });
  }

  function bulk(action) {
    var names = Array.from(selected);
    var verb = action === "start" ? "Starting" : "Stopping";
    hub.say(status, verb + " the servers of " + names.length + " users…");
    eachLimited(names, function (name) {
      return action === "start" ? hub.api("POST", hub.serverPath(name, "")) :
        hub.api("DELETE", hub.serverPath(name, ""));
    }).then(function (failures) {
      selected.clear();
      pendingRefreshes = 0;
      return load().then(function () {
        var done = (action === "start" ? "Asked to start " : "Asked to stop ") +
          (names.length - failures.length) + " of " + names.length + " servers.";
        hub.say(status, done);
        hub.say(error, failures.length ? "Some failed: " + failures.join("; ") : "");
      });
    });
  }

  // -- events -----------------------------------------------------------------------

  var typing = null;
  search.value = query.name_filter;
  document.getElementById("state-filter").value = query.state;
  document.getElementById("page-size").value = String(query.limit);

  function applyFilters() {
    query.name_filter = search.value.trim();
    query.state = filters.elements.state.value;
    query.limit = parseInt(filters.elements.limit.value, 10);
    query.offset = 0;
    load();
  }

  search.addEventListener("input", function () {
    clearTimeout(typing);
    typing = setTimeout(applyFilters, 250);
  });
  filters.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(typing);
    applyFilters();
  });
  filters.elements.state.addEventListener("change", applyFilters);
  filters.elements.limit.addEventListener("change", applyFilters);

  table.querySelectorAll("th[data-sort] button").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.closest("th").dataset.sort;
      var current = query.sort.replace(/^-/, "");
      // Names sort A-Z first; activity shows the most recent first.
      if (current === key) {
        query.sort = query.sort.charAt(0) === "-" ? key : "-" + key;
      } else {
        query.sort = key === "last_activity" ? "-last_activity" : key;
      }
      query.offset = 0;
      load();
    });
  });

  function goTo(offset) {
    query.offset = Math.max(0, offset);
    load().then(function () { table.focus && rows.firstChild && rows.firstChild.scrollIntoView({ block: "nearest" }); });
  }
  document.getElementById("first-page").addEventListener("click", function () { goTo(0); });
  document.getElementById("previous-page").addEventListener("click", function () { goTo(query.offset - query.limit); });
  document.getElementById("next-page").addEventListener("click", function () { goTo(query.offset + query.limit); });
  document.getElementById("last-page").addEventListener("click", function () {
    goTo(Math.floor((total - 1) / query.limit) * query.limit);
  });

  selectPage.addEventListener("change", function () {
    shown.forEach(function (user) {
      if (selectPage.checked) { selected.add(user.name); } else { selected.delete(user.name); }
    });
    rows.querySelectorAll("input.select-user").forEach(function (box) { box.checked = selectPage.checked; });
    updateSelection();
  });
  document.getElementById("bulk-start").addEventListener("click", function () { bulk("start"); });
  document.getElementById("bulk-stop").addEventListener("click", function () { bulk("stop"); });

  rows.addEventListener("change", function (event) {
    if (!event.target.matches("input.select-user")) { return; }
    var name = event.target.closest("tr").dataset.user;
    if (event.target.checked) { selected.add(name); } else { selected.delete(name); }
    updateSelection();
  });

  rows.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    var row = button.closest("tr");
    var name = row.dataset.user;
    var user = shown.filter(function (u) { return u.name === name; })[0];
    if (button.matches(".start-server, .stop-server")) {
      var server = button.closest(".server-line").dataset.server;
      var starting = button.matches(".start-server");
      button.disabled = true;
      button.textContent = starting ? "Starting…" : "Stopping…";
      hub.api(starting ? "POST" : "DELETE", hub.serverPath(name, server)).then(function () {
        hub.say(status, (starting ? "Started " : "Stopped ") + name + "'s server" + (server ? " " + server : "") + ".");
        pendingRefreshes = 0;
        return load({ quiet: true });
      }).catch(function (problem) {
        fail("Could not " + (starting ? "start " : "stop ") + name + "'s server")(problem);
        return load({ quiet: true });
      });
    } else if (button.matches(".delete-user")) {
      if (!window.confirm("Delete the user " + name + "? Their servers are stopped and their tokens revoked. Their files stay.")) {
        return;
      }
      button.disabled = true;
      hub.api("DELETE", "/users/" + hub.enc(name)).then(function () {
        selected.delete(name);
        return load().then(function () { hub.say(status, "Deleted " + name + "."); });
      }).catch(function (problem) {
        button.disabled = false;
        fail("Could not delete " + name)(problem);
      });
    } else if (button.matches(".edit-user")) {
      openEditor(user, button);
    }
  });

  // -- adding users ------------------------------------------------------------------

  var addForm = document.getElementById("add-users");
  var showAdd = document.getElementById("show-add-users");
  function toggleAdd(open) {
    addForm.hidden = !open;
    showAdd.setAttribute("aria-expanded", String(open));
    if (open) { addForm.elements.usernames.focus(); } else { showAdd.focus(); }
  }
  showAdd.addEventListener("click", function () { toggleAdd(addForm.hidden); });
  document.getElementById("cancel-add-users").addEventListener("click", function () { toggleAdd(false); });
  addForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var names = addForm.elements.usernames.value.split(/[\s,]+/).filter(Boolean);
    if (!names.length) { addForm.elements.usernames.focus(); return; }
    hub.api("POST", "/users", { usernames: names, admin: addForm.elements.admin.checked }).then(function (created) {
      addForm.reset();
      toggleAdd(false);
      var text = "Added " + created.length + (created.length === 1 ? " user" : " users") + ": " +
        created.map(function (u) { return u.name; }).join(", ") + ".";
      if (created.length === 1) { search.value = created[0].name; query.name_filter = created[0].name; query.offset = 0; }
      return load().then(function () { hub.say(status, text); });
    }).catch(fail("Could not add users"));
  });

  // -- editing a user ------------------------------------------------------------------

  var dialog = document.getElementById("edit-dialog");
  var editForm = document.getElementById("edit-form");
  var editError = document.getElementById("edit-error");
  var editing = null;
  var opener = null;

  function allGroups() {
    var names = [];
    function page(offset) {
      return hub.api("GET", "/groups?offset=" + offset + "&limit=200", undefined, PAGINATED).then(function (data) {
        data.items.forEach(function (g) { names.push(g.name); });
        return data._pagination.next ? page(data._pagination.next.offset) : names;
      });
    }
    return page(0);
  }

  function openEditor(user, button) {
    editing = user;
    opener = button;
    hub.say(editError, "");
    document.getElementById("edit-heading").textContent = "Edit " + user.name;
    editForm.elements.name.value = user.name;
    editForm.elements.admin.checked = user.admin;
    editForm.elements.admin.disabled = user.name === hub.user;
    var list = document.getElementById("edit-group-list");
    list.textContent = "Loading groups…";
    dialog.showModal();
    allGroups().then(function (names) {
      list.textContent = "";
      if (!names.length) {
        list.appendChild(el("p", { className: "muted" }, "There are no groups yet: create them on the Groups page."));
      }
      names.forEach(function (name, i) {
        var id = "edit-group-" + i;
        list.appendChild(el("div", { className: "choice" }, [
          el("input", { type: "checkbox", id: id, name: "groups", value: name,
                        checked: user.groups.indexOf(name) !== -1 }),
          el("label", { "for": id }, name)
        ]));
      });
    }).catch(function (problem) { hub.say(editError, "Could not list groups: " + problem.message); });
  }

  function closeEditor() {
    dialog.close();
    if (opener && document.body.contains(opener)) { opener.focus(); }
  }

  document.getElementById("edit-cancel").addEventListener("click", closeEditor);
  editForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = {
      admin: editForm.elements.admin.checked,
      groups: Array.from(editForm.querySelectorAll("input[name=groups]:checked")).map(function (b) { return b.value; })
    };
    var newName = editForm.elements.name.value.trim();
    if (newName && newName !== editing.name) { body.name = newName; }
    if (editing.name === hub.user) { delete body.admin; }
    hub.api("PATCH", "/users/" + hub.enc(editing.name), body).then(function (user) {
      var name = editing.name;
      dialog.close();
      return load({ quiet: true }).then(function () {
        hub.say(status, "Saved " + user.name + (user.name !== name ? " (was " + name + ")" : "") + ".");
        var row = rows.querySelector("tr[data-user=\"" + CSS.escape(user.name) + "\"] .edit-user");
        if (row) { row.focus(); }
      });
    }).catch(function (problem) { hub.say(editError, "Could not save: " + problem.message); });
  });

  load();
})();
