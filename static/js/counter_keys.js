// The counter keys, on every page a clerk at a window opens (the workbench, case pages,
// receipts, guides): F2 ready, F3 call again, F4 no-show, F8 finish, F9 intake. Each key
// is an element marked data-counter-key: a form (submitted), a button (clicked) or a
// link (followed). A form marked data-confirm="<dialog id>" asks first, by key or click.
(function () {
  "use strict";

  var KEYS = ["F2", "F3", "F4", "F8", "F9"];

  function confirmFirst(form) {
    var dialog = document.getElementById(form.getAttribute("data-confirm"));
    if (!dialog || typeof dialog.showModal !== "function") return false;
    dialog.querySelector("[data-confirm-yes]").onclick = function () {
      dialog.close();
      form.submit(); // no submit event: the confirmation was just given
    };
    dialog.querySelector("[data-confirm-cancel]").onclick = function () { dialog.close(); };
    dialog.showModal();
    return true;
  }

  function activate(target) {
    if (target.tagName === "A") {
      window.location.assign(target.href);
      return;
    }
    var form = target.tagName === "FORM" ? target : target.form;
    var button = target.tagName === "BUTTON" ? target : form && form.querySelector("button");
    if (button && button.disabled) return;
    if (form && form.hasAttribute("data-confirm") && confirmFirst(form)) return;
    if (button) button.click();
    else if (form) form.submit();
  }

  document.addEventListener("keydown", function (event) {
    if (KEYS.indexOf(event.key) < 0 || event.repeat) return;
    if (document.querySelector("dialog[open]")) return; // answer the open question first
    var target = document.querySelector('[data-counter-key="' + event.key + '"]');
    if (!target) return;
    event.preventDefault();
    activate(target);
  });

  // A click on a guarded form's button asks too.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm") && confirmFirst(form)) {
      event.preventDefault();
    }
  });
})();
