/* The on-screen keyboard (templates/records/_keyboard.html) and suggestions while typing. No framework.
   Keys type into the field that last had focus (the keyboard's data-target at first); the search box asks
   /documents/suggest for titles after a short pause and shows them as buttons. */
(function () {
  "use strict";
  var board = document.querySelector("[data-keyboard]");
  if (!board) { return; }
  var field = document.getElementById(board.getAttribute("data-target"));
  var shift = false;
  document.querySelectorAll("[data-keyboard-input], #" + board.getAttribute("data-target")).forEach(function (el) {
    el.addEventListener("focus", function () { field = el; });
  });
  function changed() { field.dispatchEvent(new Event("input", { bubbles: true })); }
  board.addEventListener("click", function (event) {
    var key = event.target.closest("button");
    if (!key || key.type === "submit") { return; }
    var action = key.getAttribute("data-action");
    if (action === "shift") {
      shift = !shift;
      key.setAttribute("aria-pressed", shift ? "true" : "false");
      board.querySelectorAll("[data-key]").forEach(function (k) {
        var v = k.getAttribute("data-key");
        k.textContent = shift ? v.toUpperCase() : v;
      });
    } else if (action === "backspace") {
      field.value = field.value.slice(0, -1);
    } else if (action === "clear") {
      field.value = "";
    } else {
      var v = key.getAttribute("data-key");
      field.value += shift ? v.toUpperCase() : v;
    }
    changed();
  });

  var box = document.querySelector("[data-suggest-url]");
  var list = document.getElementById("suggestions");
  if (!box || !list) { return; }
  var timer = null;
  var asked = 0;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var n = ++asked;
      fetch(box.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(box.value), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) {
          if (n !== asked) { return; }
          list.textContent = "";
          data.suggestions.forEach(function (title) {
            var item = document.createElement("li");
            var button = document.createElement("button");
            button.type = "button";
            button.className = "suggestion";
            button.textContent = title;
            button.addEventListener("click", function () { box.value = title; box.form.submit(); });
            item.appendChild(button);
            list.appendChild(item);
          });
        })
        .catch(function () { list.textContent = ""; });
    }, 250);
  });
})();
