// Not-running page: with implicit_spawn_seconds, press Start after a countdown (which the
// person can cancel).
(function () {
  "use strict";
  var counter = document.getElementById("countdown");
  var line = document.getElementById("countdown-line");
  var start = document.getElementById("start");
  var left = parseInt(counter.textContent, 10);
  var timer = setInterval(function () {
    left -= 1;
    counter.textContent = Math.max(left, 0);
    if (left <= 0) { clearInterval(timer); window.location.href = start.href; }
  }, 1000);
  document.getElementById("cancel-countdown").addEventListener("click", function () {
    clearInterval(timer);
    line.textContent = "It will not start by itself: press Start when you want it.";
  });
})();
