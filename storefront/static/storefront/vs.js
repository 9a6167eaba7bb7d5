/* VStore buyer pages: the interactive parts of the design system (buyer.css documents them).
   Every page works without this file; it only enhances:
   - .vs-sheet: opened by any element with aria-controls naming it; a modal dialog with a backdrop,
     closed by Esc, the backdrop or [data-vs-close]; focus stays inside and goes back to the opener.
     A sheet's [data-vs-mode] opener sets data-mode on the sheet (e.g. buy now / add to cart).
   - [data-vs-copy="text"]: copies the text, says so in a toast.
   - .vs-countdown[data-vs-end]: ticks down to the ISO-8601 instant (the server's text is the
     fallback).
   - .vs-gallery: a swipeable row of pictures with a "2 / 5" counter.
   - window.vsToast(text): a short status message read out by screen readers. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.classList.add("vs-js");

  var toastEl = null, toastTimer = 0;
  function toast(text) {
    if (!toastEl) {
      toastEl = doc.createElement("div");
      toastEl.className = "vs-toast";
      toastEl.setAttribute("role", "status");
      toastEl.hidden = true;
      doc.body.appendChild(toastEl);
    }
    toastEl.textContent = text;
    toastEl.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastEl.hidden = true; }, 2500);
  }
  window.vsToast = toast;

  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  var openSheet = null, opener = null;

  function visibleFocusables(root) {
    return Array.prototype.filter.call(root.querySelectorAll(FOCUSABLE), function (el) {
      return el.offsetWidth || el.offsetHeight || el.getClientRects().length;
    });
  }
  function sheetOpen(sheet, from) {
    if (openSheet) sheetClose();
    openSheet = sheet;
    opener = from || null;
    if (from && from.dataset.vsMode) sheet.dataset.mode = from.dataset.vsMode;
    sheet.classList.add("is-open");
    doc.body.classList.add("vs-sheet-open");
    if (from) from.setAttribute("aria-expanded", "true");
    var first = sheet.querySelector("[data-vs-autofocus]") || visibleFocusables(sheet)[0];
    if (first) first.focus();
  }
  function sheetClose() {
    if (!openSheet) return;
    openSheet.classList.remove("is-open");
    doc.body.classList.remove("vs-sheet-open");
    if (opener) { opener.setAttribute("aria-expanded", "false"); opener.focus(); }
    openSheet = null;
    opener = null;
  }
  Array.prototype.forEach.call(doc.querySelectorAll(".vs-sheet"), function (sheet) {
    sheet.setAttribute("role", "dialog");
    sheet.setAttribute("aria-modal", "true");
    sheet.addEventListener("click", function (e) {
      if (e.target === sheet || e.target.closest("[data-vs-close]")) { e.preventDefault(); sheetClose(); }
    });
    Array.prototype.forEach.call(doc.querySelectorAll('[aria-controls="' + sheet.id + '"]'), function (btn) {
      btn.setAttribute("aria-haspopup", "dialog");
      btn.setAttribute("aria-expanded", "false");
      btn.addEventListener("click", function (e) { e.preventDefault(); sheetOpen(sheet, btn); });
    });
  });
  // A link to something inside a sheet (a card's "choose an option" → #pp-options) opens it.
  if (location.hash.length > 1) {
    var target = doc.getElementById(decodeURIComponent(location.hash.slice(1)));
    var holder = target && target.closest(".vs-sheet");
    if (holder) sheetOpen(holder, null);
  }
  doc.addEventListener("keydown", function (e) {
    if (!openSheet) return;
    if (e.key === "Escape") { e.preventDefault(); sheetClose(); return; }
    if (e.key !== "Tab") return;
    var items = visibleFocusables(openSheet);
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1];
    if (e.shiftKey && (doc.activeElement === first || !openSheet.contains(doc.activeElement))) {
      e.preventDefault(); last.focus();
    } else if (!e.shiftKey && (doc.activeElement === last || !openSheet.contains(doc.activeElement))) {
      e.preventDefault(); first.focus();
    }
  });

  doc.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-vs-copy]");
    if (!btn) return;
    e.preventDefault();
    var text = btn.getAttribute("data-vs-copy");
    var done = function () { toast(btn.getAttribute("data-vs-copied") || "✓"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else { fallbackCopy(text); done(); }
  });
  function fallbackCopy(text) {
    var area = doc.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    doc.body.appendChild(area);
    area.select();
    try { doc.execCommand("copy"); } catch (err) { /* the text stays visible to copy by hand */ }
    area.remove();
  }

  var countdowns = doc.querySelectorAll(".vs-countdown[data-vs-end]");
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var now = Date.now();
    Array.prototype.forEach.call(countdowns, function (el) {
      var left = Math.max(0, Math.floor((Date.parse(el.dataset.vsEnd) - now) / 1000));
      if (isNaN(left)) return;
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
      var text = pad(h) + ":" + pad(Math.floor(left % 3600 / 60)) + ":" + pad(left % 60);
      el.textContent = d ? d + (el.dataset.vsDay || "d ") + text : text;
    });
  }
  if (countdowns.length) { tick(); setInterval(tick, 1000); }

  Array.prototype.forEach.call(doc.querySelectorAll(".vs-gallery"), function (gallery) {
    var track = gallery.querySelector(".vs-gallery__track");
    var counter = gallery.querySelector(".vs-gallery__count");
    if (!track || !counter) return;
    var total = track.children.length;
    var update = function () {
      var i = Math.round(track.scrollLeft / Math.max(1, track.clientWidth)) + 1;
      counter.textContent = Math.min(total, Math.max(1, i)) + " / " + total;
    };
    track.addEventListener("scroll", function () { requestAnimationFrame(update); }, { passive: true });
  });
})();
