/* Idle reset for a shared kiosk (no timing traps: it warns first).
 *
 * The visit's clock is the server's: it counts from the last request the server saw (page load or keepalive).
 * Touches are reported with a throttled keepalive POST, so the server's idle limit and this timer agree.
 * idle_warning_seconds before the limit, "Are you still there?" appears; with no answer, the visit is ended
 * (POST /session/end) and the start screen returns in the default language.
 */
(function () {
  "use strict";

  var KEEPALIVE_EVERY_MS = 5000;   // at most one keepalive per 5 s while someone is touching the screen
  var END_MARGIN_MS = 1000;        // end a little before the server would, so the end request itself is valid

  var body = document.body;
  var idleMs = Number(body.dataset.idleSeconds) * 1000;
  var warnMs = Number(body.dataset.idleWarningSeconds) * 1000;
  var keepaliveUrl = body.dataset.keepaliveUrl;
  var startUrl = body.dataset.startUrl;
  var armed = body.dataset.idleArmed === "true";
  var csrfToken = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var dialog = document.getElementById("idle-warning");
  var countdown = document.getElementById("idle-countdown");
  var continueButton = document.getElementById("idle-continue");
  var endForm = document.getElementById("idle-end-form");

  var lastContact = Date.now();    // when the server last saw this visit
  var lastSent = lastContact;
  var warnTimer = null;
  var endTimer = null;
  var ticker = null;
  var deferredKeepalive = null;
  var ending = false;

  function clearTimers() {
    window.clearTimeout(warnTimer);
    window.clearTimeout(endTimer);
    window.clearInterval(ticker);
    warnTimer = endTimer = ticker = null;
  }

  function deadline() {
    return lastContact + idleMs - END_MARGIN_MS;
  }

  function schedule() {
    clearTimers();
    if (!armed || ending) { return; }
    warnTimer = window.setTimeout(showWarning, Math.max(0, deadline() - warnMs - Date.now()));
  }

  function updateCountdown() {
    var left = Math.max(0, Math.ceil((deadline() - Date.now()) / 1000));
    countdown.textContent = String(left);
  }

  function showWarning() {
    updateCountdown();
    if (!dialog.open) { dialog.showModal(); }
    continueButton.focus();
    ticker = window.setInterval(updateCountdown, 250);
    endTimer = window.setTimeout(endVisit, Math.max(0, deadline() - Date.now()));
  }

  function endVisit() {
    ending = true;
    clearTimers();
    endForm.submit();
  }

  function goToStart() {
    ending = true;
    clearTimers();
    window.location.replace(startUrl);
  }

  function sendKeepalive() {
    window.clearTimeout(deferredKeepalive);
    deferredKeepalive = null;
    var sentAt = Date.now();
    lastSent = sentAt;
    window.fetch(keepaliveUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (response.ok) {
        lastContact = Math.max(lastContact, sentAt);
        if (!dialog.open) { schedule(); }
      } else {
        goToStart();   // the server has already ended this visit
      }
    }).catch(function () {
      schedule();   // the local server did not answer: keep counting from the last contact it did see
    });
  }

  function onActivity() {
    if (ending || dialog.open) { return; }   // while warning, only the buttons answer
    armed = true;
    var since = Date.now() - lastSent;
    if (since >= KEEPALIVE_EVERY_MS) {
      sendKeepalive();
    } else if (deferredKeepalive === null) {
      deferredKeepalive = window.setTimeout(sendKeepalive, KEEPALIVE_EVERY_MS - since);
    }
  }

  function stayHere() {
    clearTimers();
    if (dialog.open) { dialog.close(); }
    sendKeepalive();
  }

  continueButton.addEventListener("click", stayHere);
  dialog.addEventListener("cancel", function (event) { event.preventDefault(); stayHere(); });
  endForm.addEventListener("submit", function () { ending = true; clearTimers(); });
  ["pointerdown", "keydown", "wheel", "touchstart"].forEach(function (name) {
    document.addEventListener(name, onActivity, { passive: true, capture: true });
  });
  // Coming back from the browser's back/forward cache: the server decides afresh.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { window.location.reload(); } });

  schedule();
}());
