// Behaviour shared by the hall screens. No inline scripts: everything hangs on data- attributes.
(function () {
  "use strict";

  // Keyboard shortcuts on the workbench: <button data-shortcut="F2">.
  document.addEventListener("keydown", function (event) {
    var button = document.querySelector('[data-shortcut="' + event.key + '"]:not([disabled])');
    if (button) {
      event.preventDefault();
      button.click();
    }
  });

  // Item picker: ↓ from the search box moves into the results, ↑/↓ between them.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var picker = event.target.closest(".item-picker");
    if (!picker) return;
    var links = Array.prototype.slice.call(picker.querySelectorAll(".picker-results a"));
    if (!links.length) return;
    event.preventDefault();
    var index = links.indexOf(document.activeElement);
    index = event.key === "ArrowDown" ? Math.min(index + 1, links.length - 1) : index - 1;
    (index < 0 ? picker.querySelector("[data-picker]") : links[index]).focus();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) {
      event.target.form.submit();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.matches("[data-print]")) {
      window.print();
    }
  });

  // Call display: a chime, then the call spoken in Mandarin, once per new call.
  var lastSpoken = null;
  function announce(root) {
    var call = root.querySelector("[data-call-id]");
    if (!call) return;
    var id = call.getAttribute("data-call-id");
    if (lastSpoken === null) { lastSpoken = id; return; } // do not replay the call shown at load
    if (id === lastSpoken) return;
    lastSpoken = id;
    call.classList.add("flash");
    try {
      var audio = new (window.AudioContext || window.webkitAudioContext)();
      var tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio device: the text still shows */ }
    if ("speechSynthesis" in window) {
      var utterance = new SpeechSynthesisUtterance(call.getAttribute("data-speak"));
      utterance.lang = document.documentElement.lang === "en" ? "en-US" : "zh-CN";
      setTimeout(function () { window.speechSynthesis.speak(utterance); }, 400);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var calls = document.getElementById("calls");
    if (calls) announce(calls);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "calls") announce(event.target);
  });
})();
