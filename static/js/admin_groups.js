// Groups page: create and delete groups, and add or remove their members, through the
// REST API (/hub/api/groups).
(function () {
  "use strict";
  var hub = window.kernelhub;
  var el = hub.el;
  var list = document.getElementById("group-list");
  var status = document.getElementById("groups-status");
  var error = document.getElementById("groups-error");
  var PAGINATED = { "Accept": "application/jupyterhub-pagination+json" };
  var open = new Set();

  function fail(what) {
    return function (problem) { hub.say(error, what + ": " + problem.message); };
  }

  function groupPath(name) { return "/groups/" + hub.enc(name); }

  function groupCard(group, index) {
    var id = "group-" + index;
    var members = el("ul", { className: "members" }, group.users.map(function (name) {
      return el("li", {}, [
        el("span", {}, name),
        el("button", { type: "button", className: "button secondary small remove-member",
                       dataset: { user: name }, "aria-label": "Remove " + name + " from " + group.name },
           "Remove")
      ]);
    }));
    if (!group.users.length) { members.appendChild(el("li", { className: "muted" }, "No members yet.")); }
    var details = el("details", { className: "group", dataset: { group: group.name }, open: open.has(group.name) }, [
      el("summary", {}, [
        el("strong", {}, group.name), " ",
        el("span", { className: "muted" }, group.users.length + (group.users.length === 1 ? " member" : " members"))
      ]),
      el("div", { className: "group-body" }, [
        members,
        el("form", { className: "inline-form add-member" }, [
          el("div", { className: "fields" }, el("div", { className: "grow" }, [
            el("label", { "for": id + "-user" }, "Add a member"),
            el("input", { id: id + "-user", name: "user", type: "text", required: true,
                          autocomplete: "off", autocapitalize: "off", spellcheck: false })
          ])),
          el("button", { type: "submit", className: "button primary small" }, "Add")
        ]),
        el("button", { type: "button", className: "button danger small delete-group",
                       "aria-label": "Delete group " + group.name }, "Delete group")
      ])
    ]);
    details.addEventListener("toggle", function () {
      if (details.open) { open.add(group.name); } else { open.delete(group.name); }
    });
    return details;
  }

  function load() {
    var groups = [];
    function page(offset) {
      return hub.api("GET", "/groups?offset=" + offset + "&limit=200", undefined, PAGINATED).then(function (data) {
        groups = groups.concat(data.items);
        return data._pagination.next ? page(data._pagination.next.offset) : groups;
      });
    }
    return page(0).then(function (all) {
      list.textContent = "";
      all.forEach(function (group, i) { list.appendChild(groupCard(group, i)); });
      hub.say(status, all.length ? all.length + (all.length === 1 ? " group" : " groups") : "No groups yet.");
    }).catch(fail("Could not list groups"));
  }

  document.getElementById("new-group").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = event.target.elements.name;
    var name = input.value.trim();
    if (!name) { return; }
    hub.api("POST", groupPath(name), {}).then(function () {
      input.value = "";
      open.add(name);
      return load().then(function () { hub.say(status, "Created the group " + name + "."); });
    }).catch(fail("Could not create the group " + name));
  });

  list.addEventListener("submit", function (event) {
    event.preventDefault();
    var group = event.target.closest("details").dataset.group;
    var input = event.target.elements.user;
    var name = input.value.trim();
    hub.api("POST", groupPath(group) + "/users", { users: [name] }).then(function () {
      return load().then(function () { hub.say(status, "Added " + name + " to " + group + "."); });
    }).catch(fail("Could not add " + name + " to " + group));
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    var group = button.closest("details").dataset.group;
    if (button.matches(".remove-member")) {
      var name = button.dataset.user;
      hub.api("DELETE", groupPath(group) + "/users", { users: [name] }).then(function () {
        return load().then(function () { hub.say(status, "Removed " + name + " from " + group + "."); });
      }).catch(fail("Could not remove " + name));
    } else if (button.matches(".delete-group")) {
      if (!window.confirm("Delete the group " + group + "? Its members stay; what was shared with the group is no longer.")) { return; }
      hub.api("DELETE", groupPath(group)).then(function () {
        open.delete(group);
        return load().then(function () { hub.say(status, "Deleted the group " + group + "."); });
      }).catch(fail("Could not delete " + group));
    }
  });

  load();
})();
