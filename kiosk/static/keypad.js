/* The on-screen PIN keypad: digits go into the password field (shown as dots, never as digits), ⌫ erases one,
 * OK sends the form. The field keeps focus so a physical keyboard works too. Nothing is logged or stored. */
(function () {
  "use strict";

  var form = document.getElementById("pin-form");
  if (!form) { return; }
  var field = document.getElementById("pin");
  var max = Number(field.getAttribute("maxlength")) || 8;

  form.addEventListener("click", function (event) {
    var key = event.target.closest(".key");
    if (!key || key.type === "submit") { return; }
    if (key.dataset.digit !== undefined) {
      if (field.value.length < max) { field.value += key.dataset.digit; }
    } else if (key.dataset.action === "clear") {
      field.value = field.value.slice(0, -1);
    }
    field.focus();
  });
  form.addEventListener("submit", function () {
    document.body.dataset.submitting = "true";   // card.js leaves the page alone until the answer arrives
    form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
  });
  field.focus();
}());
