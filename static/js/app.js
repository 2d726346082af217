// Behaviour shared by the hall screens. No inline scripts: everything hangs on data- attributes.
(function () {
  "use strict";

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

  // Large-text mode on the public screens: remembered in a cookie, so the server renders
  // the next page large from its first paint (no flash), and in localStorage, which puts
  // the cookie back if it was cleared.
  var LARGE_TEXT = "large_text";
  function largeTextSet(on) {
    document.documentElement.classList.toggle("large-text", on);
    document.cookie = LARGE_TEXT + "=" + (on ? "1" : "0") + "; path=/; max-age=31536000; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
    try { window.localStorage.setItem(LARGE_TEXT, on ? "1" : "0"); } catch (e) { /* private mode */ }
    document.querySelectorAll("[data-large-text-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-large-text-toggle]")) {
      largeTextSet(!document.documentElement.classList.contains("large-text"));
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var stored = null;
    try { stored = window.localStorage.getItem(LARGE_TEXT); } catch (e) { /* private mode */ }
    var cookie = document.cookie.match(/(?:^|; )large_text=([01])/);
    if (stored === "1" && !cookie && document.querySelector("[data-large-text-toggle]")) {
      largeTextSet(true);
    }
  });

  // Device screens that go back to their start after a while (the kiosk's slip, the pad's
  // thanks): <p data-return-after="30" data-return-to="/kiosk/">. A script rather than a
  // meta refresh, which assistive technology announces as an unexpected page change.
  function scheduleReturn(root) {
    var element = root.querySelector("[data-return-after]");
    if (!element) return;
    var seconds = parseInt(element.getAttribute("data-return-after"), 10) || 30;
    var target = element.getAttribute("data-return-to") || window.location.pathname;
    // replace(): Back does not bring the previous citizen's slip back.
    setTimeout(function () { window.location.replace(target); }, seconds * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () { scheduleReturn(document); });
  document.addEventListener("htmx:afterSwap", function (event) { scheduleReturn(event.target); });

  // A polled list a person works in (the inbox: <div data-swap-if-changed hx-get=…>) is
  // swapped only when its answer changed, so focus, selection and what a screen reader is
  // reading stay put: an unchanged poll's 304 reaches the page as the answer the browser
  // kept, the same text again.
  // With data-count-status="id", the list's count ([data-count], its sentence as text) is
  // written into that status line when it changed, so a screen reader says it once.
  var lastAnswers = new WeakMap();
  var countsBefore = new WeakMap();
  function countIn(element) {
    var count = element.querySelector("[data-count]");
    return count ? count.getAttribute("data-count") : null;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.hasAttribute("data-swap-if-changed")) return;
    var text = event.detail.xhr.responseText;
    if (lastAnswers.get(target) === text) event.detail.shouldSwap = false;
    lastAnswers.set(target, text);
    countsBefore.set(target, countIn(target));
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var status = target && document.getElementById(target.getAttribute("data-count-status"));
    if (!status) return;
    var count = target.querySelector("[data-count]");
    if (count && count.getAttribute("data-count") !== countsBefore.get(target)) {
      status.textContent = count.textContent;
    }
  });

  // Pushed screens: a polled element with an id, data-push="<the events URL>" and
  // "pushed" among its hx-trigger events opens a server-sent events stream for its poll
  // once an answer gave it an ETag (push.streams). While the stream is ready the timer's
  // polls are not sent, and a `changed` asks at once. Without a stream (the server
  // answers 204, or it ends before it was ready) the element polls as it always did, and
  // tries again later: after 1, 2, 4 … up to 10 minutes (a stream that says `changed`
  // before it is ready, as for an answer that moved meanwhile, counts from the third).
  // A stream silent for 2.5 times its heartbeat (a connection dropped without a word)
  // is closed and the element polls; a hidden page closes its streams (a browser holds
  // few connections to one address) and polls as a hidden page does.
  var pushes = {};
  function pushOf(id) {
    if (!pushes[id]) pushes[id] = { source: null, key: "", ready: false, asked: false, failures: 0, notBefore: 0, watchdog: null };
    return pushes[id];
  }
  function pushStop(push) {
    if (push.source) push.source.close();
    clearTimeout(push.watchdog);
    push.source = null;
    push.ready = false;
    push.key = "";
  }
  function pushFailed(push, atOnce) {
    pushStop(push);
    push.failures += 1;
    if (atOnce || push.failures >= 3) {
      push.notBefore = Date.now() + 60000 * Math.min(Math.pow(2, push.failures - 1), 10);
    }
  }
  function pushHeard(push, seconds) {
    clearTimeout(push.watchdog);
    push.watchdog = setTimeout(function () { pushStop(push); }, seconds * 2500);
  }
  function pushed(element) {
    return element && element.id && element.hasAttribute && element.hasAttribute("data-push");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!pushed(event.detail.elt)) return;
    var push = pushOf(event.detail.elt.id);
    if (push.asked) push.asked = false;
    else if (push.ready) event.preventDefault(); // the stream says when to ask
  });
  // On the element that asked, before its answer is swapped in (the swap may take it out
  // of the page: an event on an element no longer in it reaches no listener here).
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var element = event.detail.elt;
    if (!pushed(element) || typeof window.EventSource === "undefined" || document.hidden) return;
    var push = pushOf(element.id);
    var xhr = event.detail.xhr;
    var etag = xhr && xhr.status >= 200 && xhr.status < 300 ? xhr.getResponseHeader("ETag") : null;
    var poll = element.getAttribute("hx-get");
    if (!etag || !poll) { pushStop(push); return; }
    if (push.key === poll + " " + etag) return;
    pushStop(push);
    if (Date.now() < push.notBefore) return;
    var source = new window.EventSource(element.getAttribute("data-push") + "?poll=" +
      encodeURIComponent(poll) + "&etag=" + encodeURIComponent(etag));
    var heartbeat = 20;
    push.source = source;
    push.key = poll + " " + etag;
    source.addEventListener("ready", function (message) {
      heartbeat = parseInt(message.data, 10) || heartbeat;
      push.ready = true;
      push.asked = false;
      push.failures = 0;
      pushHeard(push, heartbeat);
    });
    source.addEventListener("alive", function () { if (push.source === source) pushHeard(push, heartbeat); });
    source.addEventListener("changed", function () {
      if (push.ready) pushStop(push); else pushFailed(push);
      var current = document.getElementById(element.id);
      if (current) { push.asked = true; window.htmx.trigger(current, "pushed"); }
    });
    // A newer stream of the same person's took this one's place (they hold too many):
    // this element polls, and tries again later.
    source.addEventListener("stop", function () { pushFailed(push, true); });
    source.addEventListener("error", function () {
      if (push.source !== source) return;
      if (source.readyState === window.EventSource.CLOSED) pushFailed(push, true);
      else push.ready = false; // the browser opens it again; the timer polls meanwhile
    });
  });
  // After a swap, an element that now polls another URL (the pad showing another ticket)
  // asks with it: its stream watched the old one.
  document.addEventListener("htmx:afterSettle", function () {
    Object.keys(pushes).forEach(function (id) {
      var element = document.getElementById(id);
      var push = pushes[id];
      if (push.key && (!element || push.key.indexOf(element.getAttribute("hx-get") + " ") !== 0)) pushStop(push);
    });
  });
  function pushAllStop() { Object.keys(pushes).forEach(function (id) { pushStop(pushes[id]); }); }
  document.addEventListener("visibilitychange", function () { if (document.hidden) pushAllStop(); });
  window.addEventListener("pagehide", pushAllStop);

  // Report charts: <canvas data-chart="key" data-chart-type="bar|line"> drawn from the
  // page's <script type="application/json" id="chart-data"> (no inline script).
  var palette = ["#0b3d91", "#e07b00", "#198754", "#6f42c1", "#b02a37", "#0aa2c0"];
  function drawCharts() {
    var source = document.getElementById("chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = data[canvas.getAttribute("data-chart")];
      if (!chart) return;
      var type = canvas.getAttribute("data-chart-type") || "bar";
      new window.Chart(canvas, {
        type: type,
        data: {
          labels: chart.labels,
          datasets: chart.series.map(function (series, index) {
            return {
              label: series.label,
              data: series.data,
              backgroundColor: palette[index % palette.length],
              borderColor: palette[index % palette.length],
              tension: 0.2
            };
          })
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          indexAxis: canvas.hasAttribute("data-chart-horizontal") ? "y" : "x",
          plugins: { legend: { display: chart.series.length > 1 } },
          scales: {
            y: { beginAtZero: true, ticks: { precision: 0 } },
            x: { beginAtZero: true, ticks: { precision: 0 } }
          }
        }
      });
    });
  }
  window.addEventListener("load", drawCharts);
})();
