// The applicant signs the receipt or the 容缺 commitment letter on the counter's pad:
// the bridge's signature.capture gives a PNG, posted to the case file (kept with its
// SHA-256; the server vets it like a scan) and shown on the paper before it is printed.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-paper-signature] [data-sign]");
    if (!button || !window.DeviceBridge) return;
    var section = button.closest("[data-paper-signature]");
    var message = section.querySelector("[data-signature-message]");
    var image = section.querySelector("[data-signature-image]");
    button.disabled = true;
    message.className = "small";
    message.textContent = button.getAttribute("data-text-waiting");
    window.DeviceBridge.request("signature.capture", { timeout: 90, prompt: document.title }, 95000)
      .then(function (result) {
        var form = new FormData();
        form.append("paper", section.getAttribute("data-paper"));
        form.append("signature", window.DeviceBridge.file(result.png, "image/png", "signature.png"));
        form.append("csrfmiddlewaretoken", section.querySelector("[name=csrfmiddlewaretoken]").value);
        return fetch(section.getAttribute("data-url"), { method: "POST", body: form, credentials: "same-origin" })
          .then(function (response) { return response.json(); })
          .then(function (answer) {
            if (!answer.ok) throw new Error(answer.error);
            image.src = "data:image/png;base64," + result.png;
            image.hidden = false;
            section.querySelector("[data-signature-record]").textContent = "SHA-256 " + answer.sha256.slice(0, 16) + "…";
            message.className = "small text-success";
            message.textContent = button.getAttribute("data-text-saved");
          });
      })
      .catch(function (error) {
        message.className = "small text-danger";
        message.textContent = error.code
          ? button.getAttribute("data-text-failed") + " (" + error.code + ")"
          : error.message;
      })
      .then(function () { button.disabled = false; });
  });
})();
