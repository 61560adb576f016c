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

  // --- image picking: previews, checks, remove, swap, drag and drop ------------------------
  // The picked files live in `kept`; the file input only ever holds the ones the current mode
  // sends (the first `max`), so an input hidden by a mode switch can't carry images the mode
  // refuses. Files past `max` stay on screen, marked "set aside", until removed or used again.
  var ROLE = { "start-end2video": ["first frame", "last frame"], "img2video": ["first frame"] };
  var MODE_MAX = { "text2video": 0, "img2video": 1, "start-end2video": 2, "reference2video": 7 };
  var kept = [];
  var checks = new Map();  // File -> problem (a sentence) or "" once checked
  var urls = new Map();

  function currentMode() {
    var checked = document.querySelector("input[name=mode]:checked");
    return checked ? checked.value : "";
  }

  function modeMax() {
    // The hint carries the chosen model's range; until it is swapped in after a mode change,
    // the mode's own maximum applies.
    var hint = document.getElementById("images-hint"), mode = currentMode();
    if (hint && hint.dataset.mode === mode && hint.dataset.max !== undefined) return parseInt(hint.dataset.max, 10);
    return MODE_MAX[mode] !== undefined ? MODE_MAX[mode] : 0;
  }

  function urlFor(file) {
    if (!urls.has(file)) urls.set(file, URL.createObjectURL(file));
    return urls.get(file);
  }

  function rules() {
    var d = (document.getElementById("dropzone") || {}).dataset || {};
    return { minSide: +d.minSide || 128, maxRatio: +d.maxRatio || 4, pairLow: +d.pairLow || 0.8,
             pairHigh: +d.pairHigh || 1.25, maxBytes: +d.maxBytes || 20971520, maxMb: d.maxMb || "20" };
  }

  // The server's rules (vidu/images.py), checked as soon as a file is picked.
  function check(file) {
    var r = rules();
    if (!/^image\/(png|jpeg|webp)$/.test(file.type)) return Promise.resolve({ problem: "isn't a png, jpeg or webp file" });
    if (file.size > r.maxBytes) return Promise.resolve({ problem: "is larger than " + r.maxMb + " MB" });
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () {
        var w = img.naturalWidth, h = img.naturalHeight, problems = [];
        if (w < r.minSide || h < r.minSide) problems.push("each side must be at least " + r.minSide + " pixels");
        if (Math.max(w / h, h / w) > r.maxRatio) problems.push("its sides must be within 1:4 of each other");
        resolve({ width: w, height: h, problem: problems.length ? "is " + w + "x" + h + " pixels: " + problems.join(" and ") : "" });
      };
      img.onerror = function () { resolve({ problem: "isn't a png, jpeg or webp file we can read" }); };
      img.src = urlFor(file);
    });
  }

  function setFiles(input, files) {
    try {
      var dt = new DataTransfer();
      files.forEach(function (f) { dt.items.add(f); });
      input.files = dt.files;
    } catch (e) { /* an old browser: the input keeps what was picked */ }
  }

  function button(text, label, onClick) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "btn btn-small btn-quiet"; b.textContent = text;
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  function renderImages() {
    var input = document.getElementById("id_images"), box = document.getElementById("previews");
    if (!input || !box) return;
    var mode = currentMode(), max = modeMax(), roles = ROLE[mode] || [];
    setFiles(input, kept.slice(0, max));
    var field = input.closest(".images-field"), zone = input.closest(".dropzone");
    if (field) field.classList.toggle("has-kept", kept.length > 0);
    if (zone) zone.classList.toggle("has-files", kept.length > 0);
    box.innerHTML = "";
    kept.forEach(function (file, i) {
      var fig = document.createElement("figure");
      fig.className = "preview" + (i >= max ? " preview-aside" : "");
      fig.dataset.index = i;
      var img = document.createElement("img");
      img.alt = "Image " + (i + 1) + ": " + file.name;
      if (/^image\//.test(file.type)) img.src = urlFor(file);
      var cap = document.createElement("figcaption");
      cap.textContent = (i + 1) + (i >= max ? " · set aside" : roles[i] ? " · " + roles[i] : "");
      fig.appendChild(img); fig.appendChild(cap);
      fig.appendChild(button("Remove", "Remove image " + (i + 1), function () { kept.splice(i, 1); renderImages(); }));
      box.appendChild(fig);
    });
    if (mode === "start-end2video" && kept.length >= 2) {
      box.appendChild(button("Swap first and last", null, function () {
        kept = [kept[1], kept[0]].concat(kept.slice(2)); renderImages();
      }));
    }
    var aside = document.getElementById("images-aside"), extra = kept.length - max;
    if (aside) {
      aside.hidden = extra <= 0;
      var label = (document.querySelector("input[name=mode]:checked + span") || {}).textContent || "This mode";
      aside.textContent = extra <= 0 ? "" : max === 0
        ? label + " takes no images: the " + (kept.length === 1 ? "one" : kept.length) + " picked here " + (kept.length === 1 ? "is" : "are") + " set aside and won't be sent. Switch back to use " + (kept.length === 1 ? "it" : "them") + ", or remove " + (kept.length === 1 ? "it" : "them") + "."
        : label + " takes at most " + max + ": " + extra + " set aside, not sent.";
    }
    showChecks();
  }

  function showChecks() {
    var out = document.getElementById("images-check");
    if (!out) return;
    var max = modeMax(), lines = [], sizes = [];
    kept.forEach(function (file, i) {
      var c = checks.get(file);
      var fig = document.querySelector('#previews .preview[data-index="' + i + '"]');
      if (fig) fig.classList.toggle("preview-bad", !!(c && c.problem));
      if (i >= max || !c) return;
      if (c.problem) lines.push("Image " + (i + 1) + " (" + file.name + ") " + c.problem + ".");
      sizes.push(c);
    });
    if (currentMode() === "start-end2video" && sizes.length === 2 && sizes[0].width && sizes[1].width) {
      var r = rules(), q = (sizes[0].width / sizes[0].height) / (sizes[1].width / sizes[1].height);
      if (q < r.pairLow || q > r.pairHigh) lines.push("The first and last frames must have about the same shape (ratios within " + r.pairLow + " to " + r.pairHigh + ").");
    }
    out.textContent = lines.join(" ");
    out.hidden = lines.length === 0;
  }

  function pick(files) {
    kept = Array.from(files || []);
    // Replaced files: the server's verdict on the old ones no longer applies.
    var old = document.getElementById("images-error");
    if (old) old.remove();
    var field = document.querySelector(".images-field");
    if (field) field.classList.remove("has-error");
    renderImages();
    kept.forEach(function (file) {
      if (checks.has(file)) return;
      check(file).then(function (c) { checks.set(file, c); showChecks(); });
    });
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches(".dropzone-input")) pick(t.files);
    if (t.matches && t.matches("input[name=mode]")) renderImages();
    if (t.matches && t.matches("select[data-autosubmit]")) t.form.requestSubmit();
  });
  // The parameter block (with the chosen model's image range) or the whole form was swapped.
  document.addEventListener("htmx:afterSettle", function (e) {
    var id = e.target && e.target.id;
    if ((id === "params" || id === "create-form") && document.getElementById("id_images")) renderImages();
  });
  document.addEventListener("click", function (e) {
    var reuse = e.target.closest && e.target.closest("[data-reuse-seed]");
    var seed = document.getElementById("id_seed");
    if (!reuse || !seed) return;
    e.preventDefault();
    seed.value = reuse.dataset.reuseSeed;
    seed.focus();
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
    if (e.dataTransfer && e.dataTransfer.files.length) pick(e.dataTransfer.files);
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

  // A comment's time code plays the video from there; "Now" fills the time code from the player.
  document.addEventListener("click", function (e) {
    var player = document.getElementById("player");
    var seek = e.target.closest && e.target.closest("[data-seek]");
    if (seek && player) {
      player.currentTime = parseFloat(seek.dataset.seek) || 0;
      var playing = player.play();
      if (playing && playing.catch) playing.catch(function () { /* autoplay refused: the seek stands */ });
      player.scrollIntoView({ block: "nearest" });
    }
    var now = e.target.closest && e.target.closest("[data-seek-now]");
    var at = document.getElementById("id_comment_at");
    if (now && player && at) at.value = (Math.round(player.currentTime * 10) / 10).toString();
  });
  document.querySelectorAll("[data-seek-now]").forEach(function (el) {
    if (document.getElementById("player")) el.hidden = false;
  });
  // --- what the Content-Security-Policy keeps out of the markup -------------------------------
  // No eval (htmx's hx-vals="js:..." and trigger filters need it) and no inline style, so:
  // the poller asks for the running cards' ids here, this script fires its "vidu:poll" every
  // 2 s while the page is visible (and at once when it comes back), the create form's
  // "vidu:params" fires when the mode, model or length changes, and each progress bar takes
  // its width from data-percent (set through the CSSOM, which the policy allows).
  var POLL_EVERY = 2000;
  function poll() {
    var poller = document.getElementById("poller");
    if (poller && poller.hasAttribute("hx-get") && !document.hidden) {
      poller.dispatchEvent(new CustomEvent("vidu:poll"));
    }
  }
  setInterval(poll, POLL_EVERY);
  document.addEventListener("visibilitychange", poll);
  // The poller also sends back what its last answer showed (data-seen): while none of those
  // cards changed the answer is 204 No Content and htmx leaves the page as it is
  // (vidu_web/studio/progress.py, "short answer").
  document.addEventListener("htmx:configRequest", function (e) {
    if (!e.detail.elt || e.detail.elt.id !== "poller") return;
    e.detail.parameters.ids = window.vidu.activeIds();
    if (e.detail.elt.dataset.seen) e.detail.headers["X-Progress-Seen"] = e.detail.elt.dataset.seen;
  });
  // ... and "vidu:estimate" when anything the price depends on changes (teams/spend.py).
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t.form || t.form.id !== "create-form") return;
    if (t.matches("[name=mode], [name=model], [name=duration]")) {
      t.dispatchEvent(new CustomEvent("vidu:params", { bubbles: true }));
    }
    if (t.matches("[name=mode], [name=model], [name=duration], [name=resolution], [name=audio], [name=off_peak]")) {
      t.dispatchEvent(new CustomEvent("vidu:estimate", { bubbles: true }));
    }
  });
  // The video page's Extend and Upscale forms (data-estimate-form) price their choices the same way.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t.form || !t.form.hasAttribute("data-estimate-form")) return;
    if (t.matches("[name=model], [name=duration], [name=resolution], [name=upscale_resolution]")) {
      t.dispatchEvent(new CustomEvent("vidu:estimate", { bubbles: true }));
    }
  });
  function fillBars(root) {
    if (!root.querySelectorAll) return;
    if (root.matches && root.matches(".progress-fill[data-percent]")) root.style.width = root.dataset.percent + "%";
    root.querySelectorAll(".progress-fill[data-percent]").forEach(function (el) { el.style.width = el.dataset.percent + "%"; });
  }
  fillBars(document);
  // Before the next paint: a swapped-in card shows its bar at its width, never empty first.
  new MutationObserver(function (changes) {
    changes.forEach(function (c) { c.addedNodes.forEach(fillBars); });
  }).observe(document.documentElement, { childList: true, subtree: true });

  document.addEventListener("htmx:afterSettle", function () { scan(true); });
  document.addEventListener("htmx:oobAfterSwap", function () { setTimeout(function () { scan(true); }, 0); });

  document.addEventListener("DOMContentLoaded", function () {
    scan(false);
    var input = document.getElementById("id_images");
    if (input && input.files && input.files.length) pick(input.files);  // kept by the browser on back
    setupNotifyToggle();
    document.querySelectorAll("#toasts .toast").forEach(function (el) {
      setTimeout(function () { el.classList.add("toast-out"); }, 6000);
      setTimeout(function () { el.remove(); }, 6600);
    });
  });

  // --- keyframes: show the blocks of the chosen mode; preview each key image at its own shape ---
  function showForMode() {
    var mode = currentMode();
    document.querySelectorAll("[data-show-in]").forEach(function (el) { el.hidden = el.dataset.showIn !== mode; });
    document.querySelectorAll("[data-hide-in]").forEach(function (el) { el.hidden = el.dataset.hideIn === mode; });
  }
  // Reorder: "Up" swaps a key's image, prompt and seconds with the key before it (the order is
  // the order the keys are sent in). Without the script the buttons stay hidden.
  function swapKeys(a, b) {
    var fa = a.querySelector("input[type=file]"), fb = b.querySelector("input[type=file]");
    var da = new DataTransfer(), db = new DataTransfer();
    Array.from(fa.files).forEach(function (f) { da.items.add(f); });
    Array.from(fb.files).forEach(function (f) { db.items.add(f); });
    fa.files = db.files; fb.files = da.files;
    [fa, fb].forEach(function (f) { f.dispatchEvent(new Event("change", { bubbles: true })); });
    ["input[type=text]", "select"].forEach(function (sel) {
      var x = a.querySelector(sel), y = b.querySelector(sel), v = x.value;
      x.value = y.value; y.value = v;
    });
    // A remix's kept key image (its hidden key_kept and preview) moves with its row too.
    var ka = a.querySelector("[data-kept]"), kb = b.querySelector("[data-kept]");
    if (ka && kb) { var h = ka.innerHTML; ka.innerHTML = kb.innerHTML; kb.innerHTML = h; }
  }
  // Picked images replace a remix's kept ones: dim those that won't be sent.
  function markReplaced() {
    var box = document.querySelector(".keyframes");
    if (!box) return;
    var picked = function (sel) { return Array.from(box.querySelectorAll(sel)).some(function (i) { return i.files && i.files.length; }); };
    box.classList.toggle("has-new-keys", picked("input[name=key_images]"));
    box.classList.toggle("has-new-start", picked("input[name=start_image]"));
  }
  function showKeyButtons() {
    document.querySelectorAll("[data-key-up]").forEach(function (b) { b.hidden = false; });
  }
  document.addEventListener("click", function (e) {
    var up = e.target.closest && e.target.closest("[data-key-up]");
    if (!up) return;
    var rows = Array.from(document.querySelectorAll("[data-key-row]")), row = up.closest("[data-key-row]");
    var at = rows.indexOf(row);
    if (at > 0) swapKeys(rows[at - 1], row);
  });
  document.addEventListener("DOMContentLoaded", showKeyButtons);
  document.addEventListener("htmx:afterSettle", showKeyButtons);
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("input[name=mode]")) showForMode();
    if (!(t.matches && t.matches("[data-key-preview]"))) return;
    markReplaced();
    var img = t.parentNode.querySelector(".key-preview");
    if (!img) return;
    if (img.src) URL.revokeObjectURL(img.src);
    img.hidden = !(t.files && t.files[0]);
    if (t.files && t.files[0]) img.src = URL.createObjectURL(t.files[0]);
    else img.removeAttribute("src");
  });
})();
