/* A flash sale's page: the live state from /flash/status/<id> (Redis, cached 1 s), the
   countdown, and 立即抢购 through /flash/grab (storefront/flash/edge.py). The page itself is
   cached: nothing here needs it rendered again. Words come from the page (#flash-messages), in
   the buyer's language. */
(function () {
  "use strict";
  var root = document.getElementById("flash-sale");
  if (!root) return;
  var msgs = JSON.parse(document.getElementById("flash-messages").textContent || "{}");
  var sale = root.dataset.sale;
  var startsAt = +root.dataset.starts;
  var endsAt = +root.dataset.ends;
  var quantity = +root.dataset.quantity;
  // The server's clock, not the phone's: a phone a minute fast must not show 抢购 too early.
  var skew = +root.dataset.now - Date.now();
  var token = root.dataset.token;
  var state = "upcoming";
  var left = null;
  var busy = false;
  var won = false;
  // One key per page and sale: a retry of the same press (a lost answer) is the same grab.
  var keyName = "flash-key-" + sale;
  var idem = sessionStorage.getItem(keyName);
  if (!idem) {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    idem = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    sessionStorage.setItem(keyName, idem);
  }
  var el = {
    countdown: document.getElementById("flash-countdown"),
    label: document.getElementById("flash-countdown-label"),
    clock: root.querySelector(".flash-countdown__left"),
    left: document.getElementById("flash-left"),
    leftText: root.querySelector(".flash-left__text"),
    bar: root.querySelector("#flash-left .vs-progress span"),
    registered: document.getElementById("flash-registered"),
    result: document.getElementById("flash-result"),
    won: document.getElementById("flash-won"),
    grab: document.getElementById("flash-grab"),
  };

  function now() { return Date.now() + skew; }
  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, k) { return values[k]; });
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var d = Math.floor(s / 86400);
    var text = two(Math.floor(s / 3600) % 24) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
    return d ? fmt(msgs.days, { n: d }) + " " + text : text;
  }

  function show(newState) {
    if (won) newState = state === "ended" ? "ended" : "won";
    state = newState;
    root.dataset.state = state;
    el.countdown.dataset.state = state;
    root.querySelectorAll("[data-when]").forEach(function (node) {
      var shown = node.dataset.when === state;
      node.hidden = !shown;
      // buyer.css gives .vs-btn a display of its own, which beats the browser's [hidden] rule:
      // without this, 立即抢购 would stand there before the start (and 预约 after it).
      node.style.display = shown ? "" : "none";
    });
    el.label.textContent = { upcoming: msgs.starts_in, live: msgs.ends_in, won: msgs.ends_in, sold_out: msgs.sold_out_state, ended: msgs.ended }[state] || "";
  }

  function tick() {
    var t = now();
    if (state === "upcoming" && t >= startsAt) {
      show("live");
      if (!token && root.dataset.signedIn) fetchToken();
    }
    if ((state === "live" || state === "won") && t >= endsAt) show("ended");
    if (state === "upcoming") el.clock.textContent = clock(startsAt - t);
    else if (state === "live" || state === "won") el.clock.textContent = clock(endsAt - t);
    else el.clock.textContent = "";
  }

  function paint(s) {
    if (s.now) skew = s.now - Date.now();
    // The live times win over the cached page's: a start the creator moved is followed.
    if (s.starts_at) startsAt = s.starts_at * 1000;
    if (s.ends_at) endsAt = s.ends_at * 1000;
    if (typeof s.registered === "number") el.registered.textContent = fmt(msgs.registered, { n: s.registered });
    if (typeof s.left === "number") {
      left = s.left;
      el.left.hidden = s.state === "upcoming";
      el.leftText.textContent = fmt(msgs.left, { n: left });
      el.bar.style.width = (quantity ? Math.round((100 * left) / quantity) : 0) + "%";
    }
    if (s.state === "sold_out" || s.state === "ended") show(s.state);
    else if (s.state === "live" && state === "upcoming") tick();
  }

  function poll() {
    fetch(root.dataset.statusUrl, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) paint(s); })
      .catch(function () {})
      .then(function () {
        // Every second near and during the sale, every ten before (the CDN answers most).
        var soon = state === "live" || state === "won" || startsAt - now() < 120000;
        if (state !== "ended") setTimeout(poll, soon ? 1000 : 10000);
      });
  }

  function fetchToken() {
    return fetch(root.dataset.tokenUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) { if (j.token) token = j.token; })
      .catch(function () {});
  }

  function say(text) { el.result.textContent = text; }

  function grab(retries) {
    if (busy || won) return;
    busy = true;
    if (el.grab) el.grab.disabled = true;
    var body = new URLSearchParams({ t: token, k: idem });
    fetch(root.dataset.grabUrl, { method: "POST", body: body, credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (a) {
        busy = false;
        if (el.grab) el.grab.disabled = false;
        if (a.result === "won") {
          won = true;
          var minutes = Math.max(1, Math.round((a.pay_by - now()) / 60000));
          say(fmt(msgs.won, { minutes: minutes }));
          el.won.querySelector("a").href = a.next;
          el.won.hidden = false;
          show("won");
          return;
        }
        if (a.result === "invalid" && retries > 0) {
          return fetchToken().then(function () { grab(retries - 1); });
        }
        if (a.result === "retry" && retries > 0) {
          say(msgs.retry);
          setTimeout(function () { grab(retries - 1); }, 800 + Math.random() * 800);
          return;
        }
        say(msgs[a.result] || msgs.bad);
        if (a.result === "sold_out" || a.result === "closed") show(a.result === "closed" ? "ended" : "sold_out");
      })
      .catch(function () {
        busy = false;
        if (el.grab) el.grab.disabled = false;
        say(msgs.network);
      });
  }

  if (el.grab) el.grab.addEventListener("click", function () {
    if (!token) { fetchToken().then(function () { grab(2); }); return; }
    grab(2);
  });
  show(now() >= endsAt ? "ended" : now() >= startsAt ? "live" : "upcoming");
  tick();
  setInterval(tick, 250);
  poll();
})();
