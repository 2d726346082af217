// The kiosk's on-screen keypad for the ID number (digits, X, delete, clear): a touch
// screen has no keyboard, and the phone-style keyboard of a tablet hides the screen.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var key = event.target.closest("[data-keypad-for] [data-key]");
    if (!key) return;
    var pad = key.closest("[data-keypad-for]");
    var input = document.getElementById(pad.getAttribute("data-keypad-for"));
    var value = input.value;
    var name = key.getAttribute("data-key");
    if (name === "delete") value = value.slice(0, -1);
    else if (name === "clear") value = "";
    else if (value.length < (input.maxLength > 0 ? input.maxLength : 18)) value += name;
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
