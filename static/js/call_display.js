// The hall's call display: every new call (or call again) is shown, then a chime and the
// call announced twice. Spoken by the browser's Chinese (zh-CN) voice if it has one, else
// by the recorded clips shipped in static/audio/calls/ ("请 A 0 0 3 号 到 3 号 窗口 办理").
//
// Browsers keep a page silent until someone touches it (speech fails with "not-allowed",
// an AudioContext stays "suspended", audio.play() is refused). The display notices and
// shows a full-screen "tap to enable sound"; the tap is remembered, and the prompt comes
// back only if sound is blocked again. Started with the README's kiosk flags
// (--autoplay-policy=no-user-gesture-required) it never needs the tap.
//
// window.hallDisplaySound.events records what was played, for diagnosis and the tests.
(function () {
  "use strict";

  var root = document.getElementById("calls");
  var prompt = document.getElementById("sound-prompt");
  if (!root || !prompt) return;

  var STORE = "hall.display.sound";
  var clips = JSON.parse(document.getElementById("call-clips").textContent);
  var state = { started: false, blocked: false, pending: null, audioContext: null, lastCall: null };
  var hooks = (window.hallDisplaySound = { events: [] });
  function log(kind, detail) {
    hooks.events.push({ kind: kind, detail: detail || "", at: Date.now() });
  }

  function remembered() {
    try { return window.localStorage.getItem(STORE) === "enabled"; } catch (e) { return false; }
  }
  function remember(value) {
    try {
      if (value) window.localStorage.setItem(STORE, "enabled");
      else window.localStorage.removeItem(STORE);
    } catch (e) { /* private mode: the prompt simply shows again next time */ }
  }

  // --- blocked sound and the prompt ----------------------------------------------------

  function blocked(reason, call) {
    log("blocked", reason);
    state.blocked = true;
    if (call) state.pending = call;
    prompt.querySelector("[data-again]").hidden = !remembered();
    prompt.hidden = false;
  }

  prompt.addEventListener("click", function () {
    prompt.hidden = true;
    state.blocked = false;
    remember(true);
    log("enabled");
    var context = audioContext();
    var resumed = context ? context.resume() : Promise.resolve();
    resumed.then(function () {
      var call = state.pending;
      state.pending = null;
      if (call) enqueue(call); // the call that came while silent is announced now
      else chime(); // the sound the tap turned on
    });
  });

  function audioContext() {
    if (!state.audioContext) {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context) state.audioContext = new Context();
    }
    return state.audioContext;
  }

  // At start-up: an AudioContext that cannot be resumed means the browser blocks sound.
  function probe() {
    var context = audioContext();
    if (!context || context.state === "running") return;
    var timer = new Promise(function (resolve) { setTimeout(resolve, 600); });
    Promise.race([context.resume(), timer]).then(function () {
      if (context.state !== "running") blocked("audio-context-suspended");
    });
  }

  // --- the chime, the voice, the clips -------------------------------------------------

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function chime() {
    var context = audioContext();
    if (!context) return Promise.resolve(true);
    if (context.state !== "running") return Promise.resolve(false);
    // Two notes, "ding-dong".
    [[880, 0], [660, 0.45]].forEach(function (note) {
      var start = context.currentTime + note[1];
      var tone = context.createOscillator();
      var gain = context.createGain();
      tone.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.4, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.6);
      tone.connect(gain).connect(context.destination);
      tone.start(start);
      tone.stop(start + 0.65);
    });
    log("chime");
    return wait(1200).then(function () { return true; });
  }

  function chineseVoice() {
    if (!("speechSynthesis" in window)) return null;
    var voices = window.speechSynthesis.getVoices();
    for (var i = 0; i < voices.length; i++) {
      if (/^(zh|cmn)[-_](cn|hans)/i.test(voices[i].lang)) return voices[i];
    }
    return null;
  }

  function speak(text, voice) {
    return new Promise(function (resolve) {
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.rate = 0.9;
      utterance.onstart = function () { log("speech-start", text); };
      utterance.onend = function () { resolve("ok"); };
      utterance.onerror = function (event) { resolve(event.error || "error"); };
      window.speechSynthesis.speak(utterance);
    });
  }

  // A window's number said as a number, as people say it: 3 -> 三, 10 -> 十, 12 -> 十二,
  // 20 -> 二十, 35 -> 三十五. From 100 on (no hall has that many), digit by digit.
  function windowClips(windowNumber) {
    var n = parseInt(windowNumber, 10);
    if (isNaN(n) || n < 10 || n > 99) return String(windowNumber).split("");
    var tens = Math.floor(n / 10), units = n % 10;
    var names = tens === 1 ? ["shi"] : [String(tens), "shi"];
    return units ? names.concat([String(units)]) : names;
  }

  // "A003" at window 12 -> 请 A 0 0 3 号 到 十 二 号 窗口 办理: the ticket's digits one by
  // one (as they are printed), the window's number as a number.
  function clipNames(number, windowNumber) {
    var names = ["qing"].concat(number.split(""), ["hao", "dao"]);
    return names.concat(windowClips(windowNumber), ["hao", "chuangkou", "banli"]);
  }
  hooks.clipNames = clipNames;

  var player = new Audio();
  player.preload = "auto";
  function playClip(name) {
    return new Promise(function (resolve) {
      var url = clips[name];
      if (!url) { resolve("missing"); return; }
      player.onended = function () { resolve("ok"); };
      player.onerror = function () { resolve("error"); };
      player.onplaying = function () { log("clip-playing", name); };
      player.src = url;
      player.play().catch(function (error) {
        resolve(error && error.name === "NotAllowedError" ? "not-allowed" : "error");
      });
    });
  }

  function playClips(names) {
    return names.reduce(function (previous, name) {
      return previous.then(function (result) {
        return result === "not-allowed" ? result : playClip(name);
      });
    }, Promise.resolve("ok"));
  }

  // --- one call: chime, then twice ------------------------------------------------------

  function announce(call) {
    return chime().then(function (chimed) {
      if (!chimed) { blocked("chime-suspended", call); return; }
      var voice = chineseVoice();
      var once = voice
        ? function () { return speak(call.text, voice); }
        : function () { return playClips(clipNames(call.number, call.window)); };
      log(voice ? "voice" : "clips", voice ? voice.lang : "");
      return once().then(function (result) {
        if (result === "not-allowed") { blocked("speech-or-audio-not-allowed", call); return; }
        if (voice && result !== "ok") {
          // The voice failed (not a block): the clips instead.
          voice = null;
          once = function () { return playClips(clipNames(call.number, call.window)); };
        }
        return wait(700).then(once).then(function () { log("announced", call.number); });
      });
    });
  }

  var queue = Promise.resolve();
  function enqueue(call) {
    queue = queue.then(function () {
      if (state.blocked) { state.pending = call; return; }
      return announce(call);
    });
  }

  function readCall() {
    var element = root.querySelector("[data-call-id]");
    if (!element) return null;
    return {
      element: element,
      id: element.getAttribute("data-call-id"),
      number: element.getAttribute("data-number"),
      window: element.getAttribute("data-window"),
      text: element.getAttribute("data-speak"),
    };
  }

  function onCalls() {
    var call = readCall();
    if (!state.started) { state.started = true; state.lastCall = call; return; } // shown at load
    if (!call || (state.lastCall && call.id === state.lastCall.id)) return;
    state.lastCall = call;
    call.element.classList.add("flash");
    if (state.blocked) { state.pending = call; return; }
    enqueue(call);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "calls") onCalls();
  });
  onCalls();
  probe();
  if ("speechSynthesis" in window) window.speechSynthesis.getVoices(); // start loading them
})();
