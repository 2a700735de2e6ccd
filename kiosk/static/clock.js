/* Keeps the clock in the top bar current. The server renders the first value, so it shows without JavaScript. */
(function () {
  "use strict";

  var clock = document.getElementById("clock");
  var timeEl = document.getElementById("clock-time");
  var dateEl = document.getElementById("clock-date");
  if (!clock || !timeEl || !dateEl) { return; }

  var lang = document.documentElement.lang || "sv";
  var zone = clock.dataset.timezone;
  var shownDay = clock.dataset.day;
  var timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone });
  var dayFormat = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone });
  var dateFormat = new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", timeZone: zone });

  function render() {
    var now = new Date();
    timeEl.textContent = timeFormat.format(now);
    var day = dayFormat.format(now);    // en-CA gives YYYY-MM-DD, comparable with the server's data-day
    if (day !== shownDay) {
      shownDay = day;
      dateEl.textContent = dateFormat.format(now);
    }
  }

  render();
  window.setInterval(render, 5000);
}());
