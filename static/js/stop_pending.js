// Stop-pending page: look again in a few seconds (the hub then shows the next step).
(function () {
  "use strict";
  setTimeout(function () { window.location.reload(); }, 5000);
})();
