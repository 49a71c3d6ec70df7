// Not-running page: with implicit_spawn_seconds, press Start after a countdown.
(function () {
  "use strict";
  var counter = document.getElementById("countdown");
  var form = document.getElementById("start-form");
  var left = parseInt(counter.textContent, 10);
  var timer = setInterval(function () {
    left -= 1;
    counter.textContent = Math.max(left, 0);
    if (left <= 0) { clearInterval(timer); form.submit(); }
  }, 1000);
})();
