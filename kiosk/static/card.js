/* The card in the reader drives the screen: server-sent events from /card/events say what the card service
 * sees, and this moves the page along. The server enforces the same on its own (a pulled card ends the visit
 * on the next request); this only makes it immediate.
 *
 *   a card goes in (reading / pin / refused)  -> the sign-in screen
 *   signed in                                 -> the welcome screen (from the sign-in screen)
 *   the card comes out, or the reader goes    -> the visit ends: back to the start screen
 */
(function () {
  "use strict";

  var body = document.body;
  var page = body.dataset.cardPage;          // "start", "signin", "visitor" or "public"
  var renderedState = body.dataset.cardState;
  var renderedCard = body.dataset.card;
  var SIGNIN = ["reading", "pin", "refused"];
  var NO_CARD = ["waiting", "no-reader", "no-service"];
  var moving = false;

  if (!window.EventSource || !body.dataset.cardEventsUrl) { return; }

  function go(url) {
    if (moving) { return; }
    moving = true;
    window.location.assign(url);
  }

  function endVisit() {
    if (moving) { return; }
    moving = true;
    var form = document.getElementById("idle-end-form");
    if (form) { form.submit(); } else { window.location.assign(body.dataset.startUrl); }
  }

  function onState(state) {
    var card = String(state.card);
    // The PIN form is on its way: its answer moves the page (and carries the signed-in visit's cookie). Moving
    // now would make the browser drop that answer, so nothing happens here until it arrives.
    if (body.dataset.submitting === "true") { return; }
    if (SIGNIN.indexOf(state.state) >= 0) {
      if (page !== "signin" || card !== renderedCard || state.state !== renderedState) {
        go(body.dataset.signinUrl);
      }
    } else if (state.state === "signed-in") {
      if (page === "signin") { go(body.dataset.welcomeUrl); }
      else if (page === "visitor" && card !== renderedCard) { endVisit(); }
    } else if (NO_CARD.indexOf(state.state) >= 0) {
      if (page === "signin" || page === "visitor") { endVisit(); }
      else if (page === "start" && state.state !== renderedState) { go(body.dataset.startUrl); }
    } else if (state.state === "finished") {
      if (page === "signin" || page === "visitor") { endVisit(); }
    }
  }

  var source = new EventSource(body.dataset.cardEventsUrl);
  source.addEventListener("card", function (event) {
    try { onState(JSON.parse(event.data)); } catch (ignored) { /* a malformed event changes nothing */ }
  });
  window.addEventListener("pagehide", function () { source.close(); });
}());
