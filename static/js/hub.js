// What every page's script shares: calling the REST API as the logged-in person, and
// showing times and messages. Exposed as `window.kernelhub`; no build step, no framework.
(function () {
  "use strict";
  var body = document.body;

  function ApiError(status, message) {
    this.status = status;
    this.message = message || ("The hub answered " + status);
  }
  ApiError.prototype = Object.create(Error.prototype);

  // fetch() against /hub/api with the page's XSRF token; resolves with the parsed JSON
  // (null for an empty answer), rejects with an ApiError carrying the hub's message.
  function api(method, path, body_, extraHeaders) {
    var headers = { "X-XSRFToken": body.dataset.xsrf, "Accept": "application/json" };
    Object.keys(extraHeaders || {}).forEach(function (key) { headers[key] = extraHeaders[key]; });
    var options = { method: method, headers: headers, credentials: "same-origin" };
    if (body_ !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body_);
    }
    return fetch(body.dataset.api + path, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        if (text) {
          try { data = JSON.parse(text); } catch (e) { data = null; }
        }
        if (!response.ok) {
          throw new ApiError(response.status, data && data.message);
        }
        return data;
      });
    });
  }

  function enc(value) { return encodeURIComponent(value); }

  // /users/NAME/server or /users/NAME/servers/SERVER
  function serverPath(user, name) {
    return "/users/" + enc(user) + (name ? "/servers/" + enc(name) : "/server");
  }

  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60], ["second", 1]];
  var format = window.Intl && Intl.RelativeTimeFormat ?
    new Intl.RelativeTimeFormat("en", { numeric: "auto" }) : null;

  // "3 minutes ago", "in 2 days"; "" for no time.
  function relative(iso) {
    if (!iso) { return ""; }
    var seconds = (new Date(iso).getTime() - Date.now()) / 1000;
    if (Math.abs(seconds) < 45) { return "just now"; }
    for (var i = 0; i < UNITS.length; i++) {
      if (Math.abs(seconds) >= UNITS[i][1] || i === UNITS.length - 1) {
        var amount = Math.round(seconds / UNITS[i][1]);
        return format ? format.format(amount, UNITS[i][0]) : new Date(iso).toLocaleString();
      }
    }
    return "";
  }

  // A <time> element for an ISO timestamp, or a muted text for none.
  function timeElement(iso, never) {
    if (!iso) {
      var none = document.createElement("span");
      none.className = "muted";
      none.textContent = never || "Never";
      return none;
    }
    var time = document.createElement("time");
    time.dateTime = iso;
    time.title = new Date(iso).toLocaleString();
    time.textContent = relative(iso);
    return time;
  }

  function humanizeTimes(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach(function (time) {
      time.title = new Date(time.dateTime).toLocaleString();
      time.textContent = relative(time.dateTime);
    });
  }

  // Show a message in an element (an alert or a status line); hide it for "".
  function say(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  // Build an element: el("button", {className: "button", type: "button"}, "Stop").
  function el(tag, properties, children) {
    var node = document.createElement(tag);
    Object.keys(properties || {}).forEach(function (key) {
      if (key === "dataset") {
        Object.keys(properties.dataset).forEach(function (d) { node.dataset[d] = properties.dataset[d]; });
      } else if (key.indexOf("aria-") === 0 || key === "role" || key === "for") {
        node.setAttribute(key, properties[key]);
      } else {
        node[key] = properties[key];
      }
    });
    [].concat(children === undefined ? [] : children).forEach(function (child) {
      if (child === null || child === undefined || child === false) { return; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // Copy the text of an input to the clipboard, with a fallback for plain http pages.
  function copy(input, button) {
    input.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  }

  humanizeTimes(document);

  window.kernelhub = {
    api: api, ApiError: ApiError, serverPath: serverPath, enc: enc,
    relative: relative, timeElement: timeElement, humanizeTimes: humanizeTimes,
    say: say, el: el, copy: copy,
    user: body.dataset.user, hubPrefix: body.dataset.hubPrefix, baseUrl: body.dataset.baseUrl
  };

  // What JupyterHub's pages give their scripts, for scripts written for JupyterHub.
  window.jhdata = window.jhdata || {
    base_url: body.dataset.hubPrefix, prefix: body.dataset.baseUrl,
    user: body.dataset.user || undefined, xsrf_token: body.dataset.xsrf,
    admin_access: body.dataset.adminAccess === "true", options_form: false
  };
})();
