// The page's side of the local device bridge (README, "Hall devices"): one WebSocket to
// the address in <meta name="device-bridge">, requests {id, op, ...} answered by
// {id, ok, result | error}, events {event, data}. It reconnects by itself; while no
// bridge answers, the page keeps working by hand ("absent").
//
//   DeviceBridge.request("card.read").then(card => ...).catch(error => error.code)
//   DeviceBridge.on("card.placed", fn); DeviceBridge.onState(fn)
//
// Elements with data-bridge-device="card_reader" (etc.) are shown only while the bridge
// reports that device; [data-bridge-status] shows data-text-<state>.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="device-bridge"]');
  var url = meta && meta.getAttribute("content");
  var socket = null;
  var nextId = 1;
  var pending = {};
  var listeners = {};
  var stateListeners = [];
  var delay = 1000;
  var bridge = { state: "connecting", hello: null };

  function setState(state) {
    bridge.state = state;
    var devices = (state === "ready" && bridge.hello && bridge.hello.devices) || {};
    document.documentElement.setAttribute("data-bridge-state", state);
    document.querySelectorAll("[data-bridge-device]").forEach(function (element) {
      element.hidden = !devices[element.getAttribute("data-bridge-device")];
    });
    document.querySelectorAll("[data-bridge-status]").forEach(function (element) {
      element.textContent = element.getAttribute("data-text-" + state) || "";
    });
    stateListeners.forEach(function (fn) { fn(state); });
  }

  function failAll(code) {
    Object.keys(pending).forEach(function (id) {
      var entry = pending[id];
      delete pending[id];
      clearTimeout(entry.timer);
      entry.reject(bridgeError(code, code));
    });
  }

  function bridgeError(code, message) {
    var error = new Error(message || code);
    error.code = code;
    return error;
  }

  function connect() {
    try {
      socket = new WebSocket(url);
    } catch (error) {
      setState("absent");
      return;
    }
    socket.onopen = function () {
      delay = 1000;
      send("hello", { client: "langzhong-hall/1" }, 5000).then(function (hello) {
        bridge.hello = hello;
        setState("ready");
      }, function () { setState("absent"); });
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (error) { return; }
      if (data.event) {
        (listeners[data.event] || []).forEach(function (fn) { fn(data.data || {}); });
        return;
      }
      var entry = pending[data.id];
      if (!entry) return;
      delete pending[data.id];
      clearTimeout(entry.timer);
      if (data.ok) entry.resolve(data.result);
      else entry.reject(bridgeError((data.error || {}).code || "device_error", (data.error || {}).message));
    };
    socket.onclose = function () {
      socket = null;
      bridge.hello = null;
      failAll("no_bridge");
      setState("absent");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  function send(op, params, timeoutMs) {
    return new Promise(function (resolve, reject) {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        reject(bridgeError("no_bridge", "no device bridge"));
        return;
      }
      var id = String(nextId++);
      var request = Object.assign({}, params || {}, { id: id, op: op });
      pending[id] = {
        resolve: resolve,
        reject: reject,
        timer: setTimeout(function () {
          delete pending[id];
          reject(bridgeError("timeout", "the device bridge did not answer in time"));
        }, timeoutMs || 10000),
      };
      socket.send(JSON.stringify(request));
    });
  }

  bridge.request = send;
  bridge.on = function (event, fn) { (listeners[event] = listeners[event] || []).push(fn); };
  bridge.onState = function (fn) { stateListeners.push(fn); };
  // A base64 answer as a File, e.g. for an <input type=file> (document camera).
  bridge.file = function (base64, type, name) {
    var bytes = atob(base64);
    var array = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) array[i] = bytes.charCodeAt(i);
    return new File([array], name, { type: type });
  };
  window.DeviceBridge = bridge;
  document.addEventListener("DOMContentLoaded", function () {
    if (!url) { setState("absent"); return; }
    setState("connecting");
    connect();
  });
})();
