// The workbench's devices for the intake: the ID card fills the applicant's name and ID
// number and shows the card's photo beside the form for a visual check (never sent to
// the server); a verified electronic social-security-card QR code fills them too; the
// document camera adds each page to the intake's "other scans", like an upload.
(function () {
  "use strict";
  function box() { return document.querySelector("[data-intake-devices]"); }

  function say(text, ok) {
    var message = box().querySelector("[data-device-message]");
    message.textContent = text;
    message.className = "small mb-0 " + (ok ? "text-success" : "text-danger");
  }

  function setField(id, value) {
    var field = document.getElementById(id);
    if (!field) return;
    field.value = value;
    field.classList.remove("is-invalid");
  }

  function readCard() {
    return window.DeviceBridge.request("card.read").then(function (card) {
      setField("id_applicant_name", card.name);
      setField("id_id_number", card.id_number);
      var figure = box().querySelector("[data-card-photo]");
      figure.querySelector("img").src = "data:image/jpeg;base64," + card.photo;
      figure.querySelector("[data-card-facts]").textContent =
        [card.name, card.sex, card.ethnicity, card.birth_date].join(" · ");
      figure.hidden = false;
      var today = new Date().toISOString().slice(0, 10);
      if (/^\d{4}-\d{2}-\d{2}$/.test(card.valid_to) && card.valid_to < today) {
        say(box().getAttribute("data-text-expired").replace("{date}", card.valid_to), false);
      } else {
        say(box().getAttribute("data-text-read"), true);
      }
    }, function () { say(box().getAttribute("data-text-failed"), false); });
  }

  function scanQr() {
    return window.DeviceBridge.request("qr.scan", { timeout: 30 }, 35000).then(function (scan) {
      var form = new FormData();
      form.append("payload", scan.payload);
      form.append("csrfmiddlewaretoken", box().closest("form").querySelector("[name=csrfmiddlewaretoken]").value);
      return fetch(box().getAttribute("data-verify-url"), { method: "POST", body: form, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (!answer.ok) { say(answer.error, false); return; }
          setField("id_id_number", answer.id_number);
          if (answer.name) setField("id_applicant_name", answer.name);
          box().querySelector("[data-card-photo]").hidden = true;
          say(box().getAttribute("data-text-verified"), true);
        });
    }, function () { say(box().getAttribute("data-text-failed"), false); });
  }

  var pages = 0;
  function captureDocument() {
    return window.DeviceBridge.request("document.capture", {}, 20000).then(function (result) {
      var input = document.getElementById("id_scans");
      var files = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (file) { files.items.add(file); });
      pages += 1;
      files.items.add(window.DeviceBridge.file(result.jpeg, "image/jpeg", "camera-" + pages + ".jpg"));
      input.files = files.files;
      say(box().getAttribute("data-text-page").replace("{page}", pages), true);
    }, function () { say(box().getAttribute("data-text-failed"), false); });
  }

  document.addEventListener("click", function (event) {
    if (!box() || !window.DeviceBridge) return;
    if (event.target.closest("[data-read-card]")) readCard();
    else if (event.target.closest("[data-scan-qr]")) scanQr();
    else if (event.target.closest("[data-capture-document]")) captureDocument();
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (window.DeviceBridge) window.DeviceBridge.on("card.placed", function () { if (box()) readCard(); });
  });
})();
