// Vidu Studio: the few behaviours htmx doesn't cover. No build step, no dependencies.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var NOTIFY_KEY = "vidu-notify";
  var states = new Map();

  function cards() { return document.querySelectorAll("[data-task-id][data-state]"); }
  // Whether a task is still running is the server's answer (GenerationTask.is_active), carried
  // by each card as data-active; the script never keeps its own list of states.
  function running(el) { return el.dataset.active === "1"; }

  window.vidu = {
    // The running tasks shown on this page: one progress request asks for all of them.
    activeIds: function () {
      var ids = new Set();
      cards().forEach(function (el) { if (running(el)) ids.add(el.dataset.taskId); });
      return Array.from(ids).join(",");
    },
    toast: toast,
  };

  function toast(text, kind, link) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (kind || "info");
    el.textContent = text + " ";
    if (link) {
      var a = document.createElement("a");
      a.href = link; a.textContent = "Open";
      el.appendChild(a);
    }
    box.appendChild(el);
    setTimeout(function () { el.classList.add("toast-out"); }, 6000);
    setTimeout(function () { el.remove(); }, 6600);
  }

  function notifyOn() {
    return "Notification" in window && Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) === "1";
  }

  function notify(title, body, link) {
    if (!notifyOn()) return;
    try {
      var n = new Notification(title, { body: body, tag: link || title });
      n.onclick = function () { window.focus(); if (link) location.href = link; };
    } catch (e) { /* some browsers only notify from a service worker */ }
  }

  // Compare every card's state with what we saw last: a card that left a running state
  // says so in a toast (and a notification when the user turned them on).
  function scan(announce) {
    cards().forEach(function (el) {
      var id = el.dataset.taskId, now = el.dataset.state, before = states.get(id);
      states.set(id, { state: now, active: running(el) });
      if (!announce || before === undefined || before.state === now || !before.active) return;
      var prompt = (el.querySelector(".task-prompt") || {}).textContent || "";
      var open = el.querySelector("a[href*='/videos/']");
      var link = open ? open.getAttribute("href") : null;
      if (now === "succeeded") {
        toast("Your video is ready.", "success", link);
        notify("Your video is ready", prompt.trim(), link);
      } else if (now === "failed") {
        var why = (el.querySelector(".task-error") || {}).textContent || "";
        toast("A video failed: " + why.trim(), "error");
        notify("A video failed", why.trim(), null);
      }
    });
  }

  function setupNotifyToggle() {
    var btn = document.getElementById("notify-toggle");
    if (!btn || !("Notification" in window)) return;
    btn.hidden = false;
    var render = function () {
      var on = notifyOn();
      btn.setAttribute("aria-pressed", on ? "true" : "false");
      btn.title = on ? "Notifications are on (click to turn off)" : "Tell me when a video is ready";
    };
    btn.addEventListener("click", function () {
      if (notifyOn()) { localStorage.setItem(NOTIFY_KEY, "0"); render(); return; }
      // Asked only here, on a click; never on load.
      Notification.requestPermission().then(function (p) {
        localStorage.setItem(NOTIFY_KEY, p === "granted" ? "1" : "0");
        render();
        toast(p === "granted" ? "We'll notify you when a video is ready." : "Notifications are blocked in this browser.", p === "granted" ? "success" : "info");
      });
    });
    render();
  }

  // --- image picking: previews, drag and drop -----------------------------------------------
  var ROLE = { "start-end2video": ["first frame", "last frame"], "img2video": ["first frame"] };

  function currentMode() {
    var checked = document.querySelector("input[name=mode]:checked");
    return checked ? checked.value : "";
  }

  function renderPreviews(input) {
    var box = document.getElementById("previews");
    if (!box) return;
    box.innerHTML = "";
    var roles = ROLE[currentMode()] || [];
    Array.from(input.files || []).forEach(function (file, i) {
      var fig = document.createElement("figure");
      fig.className = "preview";
      var img = document.createElement("img");
      img.alt = "Chosen image " + (i + 1) + ": " + file.name;
      if (/^image\//.test(file.type)) img.src = URL.createObjectURL(file);
      var cap = document.createElement("figcaption");
      cap.textContent = (i + 1) + (roles[i] ? " · " + roles[i] : "");
      fig.appendChild(img); fig.appendChild(cap);
      box.appendChild(fig);
    });
    var zone = input.closest(".dropzone");
    if (zone) zone.classList.toggle("has-files", (input.files || []).length > 0);
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches(".dropzone-input")) renderPreviews(t);
    if (t.matches && t.matches("input[name=mode]")) { var i = document.getElementById("id_images"); if (i) renderPreviews(i); }
    if (t.matches && t.matches("select[data-autosubmit]")) t.form.requestSubmit();
  });
  document.addEventListener("dragover", function (e) {
    var zone = e.target.closest && e.target.closest(".dropzone");
    if (!zone) return;
    e.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", function (e) {
    var zone = e.target.closest && e.target.closest(".dropzone");
    if (zone) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (e) {
    var zone = e.target.closest && e.target.closest(".dropzone");
    if (!zone) return;
    e.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    if (input && e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  // --- small things ----------------------------------------------------------------------------
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.dataset && t.dataset.counter) {
      var out = document.querySelector("#" + t.dataset.counter + " span");
      if (out) out.textContent = t.value.length;
    }
  });
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && e.target.form && e.target.form.id === "create-form") {
      e.preventDefault();
      e.target.form.requestSubmit();
    }
    if (e.key === "Escape") {
      document.querySelectorAll("details.usermenu[open]").forEach(function (d) { d.open = false; });
    }
  });
  document.addEventListener("submit", function (e) {
    var msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  }, true);
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (d) { if (!d.contains(e.target)) d.open = false; });
  });

  // Gallery: a poster previews its video while hovered or focused.
  function tileVideo(e) { var m = e.target.closest && e.target.closest(".tile-media"); return m && m.querySelector("video"); }
  function play(v) { if (!v) return; v.muted = true; var p = v.play(); if (p && p.catch) p.catch(function () {}); }
  function stop(v) { if (!v) return; v.pause(); try { v.currentTime = 0; } catch (err) { /* not loaded */ } }
  document.addEventListener("mouseover", function (e) { var v = tileVideo(e); if (v && v.paused) play(v); });
  document.addEventListener("mouseout", function (e) {
    var m = e.target.closest && e.target.closest(".tile-media");
    if (m && !m.contains(e.relatedTarget)) stop(m.querySelector("video"));
  });
  document.addEventListener("focusin", function (e) { play(tileVideo(e)); });
  document.addEventListener("focusout", function (e) { stop(tileVideo(e)); });

  // After the create form comes back, show the creator where to look: the first field with an
  // error (focused), else the "Started" note. Without this the swap drops focus to <body> and
  // the browser's scroll anchoring can leave a phone user far down the Recent list.
  var formPending = false;
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "create-form") formPending = true;
  });
  function reveal(el) {
    var r = el.getBoundingClientRect();
    var top = document.querySelector(".topbar");
    var covered = top ? top.getBoundingClientRect().bottom : 0;
    if (r.top < covered || r.bottom > window.innerHeight) el.scrollIntoView({ block: "center" });
  }
  function afterFormSwap() {
    var form = document.getElementById("create-form");
    if (!form) return;
    var first = form.querySelector(".alert-error, .has-error, .alert-success");
    if (!first) return;
    if (first.classList.contains("has-error")) {
      var control = first.querySelector("input:checked, textarea, select, input:not([type=hidden])") || first;
      control.focus({ preventScroll: true });
      reveal(first);
    } else if (first.classList.contains("alert-error")) {
      first.setAttribute("tabindex", "-1");
      first.focus({ preventScroll: true });
      reveal(first);
    } else {
      var prompt = document.getElementById("id_prompt");
      if (prompt) prompt.focus({ preventScroll: true });  // ready for the next variation
      reveal(first);
    }
  }
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "create-form" && !e.detail.successful) formPending = false;
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    if (formPending && e.target && e.target.id === "create-form") { formPending = false; afterFormSwap(); }
  });

  document.addEventListener("htmx:afterSettle", function () { scan(true); });
  document.addEventListener("htmx:oobAfterSwap", function () { setTimeout(function () { scan(true); }, 0); });

  document.addEventListener("DOMContentLoaded", function () {
    scan(false);
    setupNotifyToggle();
    document.querySelectorAll("#toasts .toast").forEach(function (el) {
      setTimeout(function () { el.classList.add("toast-out"); }, 6000);
      setTimeout(function () { el.remove(); }, 6600);
    });
  });
})();
