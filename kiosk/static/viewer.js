/* The document viewer: a sideways swipe on the page turns it (the buttons do the same without script). */
(function () {
  "use strict";
  var frame = document.querySelector("[data-swipe]");
  if (!frame) { return; }
  var startX = null;
  var startY = null;
  frame.addEventListener("touchstart", function (e) {
    if (e.touches.length === 1) { startX = e.touches[0].clientX; startY = e.touches[0].clientY; }
  }, { passive: true });
  frame.addEventListener("touchend", function (e) {
    if (startX === null || frame.scrollWidth > frame.clientWidth + 4) { startX = null; return; }  // zoomed: pan
    var dx = e.changedTouches[0].clientX - startX;
    var dy = e.changedTouches[0].clientY - startY;
    startX = null;
    if (Math.abs(dx) < 80 || Math.abs(dy) > Math.abs(dx)) { return; }
    var target = frame.getAttribute(dx < 0 ? "data-next" : "data-prev");
    if (target) { window.location.href = target; }
  });
})();
