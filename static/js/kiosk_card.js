// The kiosk's card hook: an ID card placed on the reader (or the "read my ID card"
// button) fills the ID number; an electronic social-security card's QR code does too,
// once the server has verified it; on the appointment check-in screen either one checks
// the citizen in at once. Typing with the keypad stays as it was.
(function () {
  "use strict";
  var KEEP_MS = 60000; // an ID number survives choosing a category for a minute, no longer

  function box() { return document.querySelector("[data-kiosk-card]"); }
  function input() { return document.getElementById("id_id_number"); }

  function say(text, ok) {
    var message = box().querySelector("[data-kiosk-card-message]");
    message.textContent = text;
    message.classList.toggle("is-error", !ok);
  }

  function fill(number, text) {
    var field = input();
    field.value = number;
    field.classList.remove("is-invalid");
    field.dispatchEvent(new Event("input", { bubbles: true }));
    say(box().getAttribute(text), true);
    // The appointment check-in: the card (or the verified code) is the whole answer.
    if (box().hasAttribute("data-submit-on-read")) field.form.requestSubmit();
  }

  function readCard() {
    return window.DeviceBridge.request("card.read").then(function (card) {
      fill(card.id_number, "data-text-read");
    }, function () { say(box().getAttribute("data-text-failed"), false); });
  }

  function scanQr() {
    return window.DeviceBridge.request("qr.scan", { timeout: 30 }, 35000).then(function (scan) {
      var form = new FormData();
      form.append("payload", scan.payload);
      form.append("csrfmiddlewaretoken", document.querySelector(".kiosk-form [name=csrfmiddlewaretoken]").value);
      return fetch(box().getAttribute("data-verify-url"), { method: "POST", body: form, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.ok) fill(answer.id_number, "data-text-verified");
          else say(answer.error, false);
        });
    }, function () { say(box().getAttribute("data-text-failed"), false); });
  }

  document.addEventListener("click", function (event) {
    if (!box() || !window.DeviceBridge) return;
    if (event.target.closest("[data-kiosk-read-card]")) readCard();
    else if (event.target.closest("[data-kiosk-scan-qr]")) scanQr();
    else if (event.target.closest(".kiosk-category-button") && input() && input().value) {
      sessionStorage.setItem("kiosk-id", JSON.stringify({ v: input().value, t: Date.now() }));
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var kept = null;
    try { kept = JSON.parse(sessionStorage.getItem("kiosk-id") || "null"); } catch (error) { kept = null; }
    sessionStorage.removeItem("kiosk-id");
    if (kept && Date.now() - kept.t < KEEP_MS && input() && !input().value) input().value = kept.v;
    if (window.DeviceBridge) window.DeviceBridge.on("card.placed", readCard);
  });
})();
