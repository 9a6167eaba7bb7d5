/* Inside WeChat: hand the signed parameters to WeChat's cashier and follow its answer.
   Paid ("get_brand_wcpay_request:ok") is only what the phone says: the order page asks the
   provider and waits for its notification before it calls the order paid. */
(function () {
  "use strict";
  var root = document.querySelector("[data-wxpay]");
  var source = document.getElementById("wxpay-params");
  if (!root || !source) return;
  var params = JSON.parse(source.textContent);
  var status = root.querySelector(".wxpay-status");
  var retry = root.querySelector(".wxpay-retry");
  var busy = false, started = false;

  function say(text, problem) {
    status.textContent = text;
    status.classList.toggle("error", !!problem);
    status.setAttribute("role", problem ? "alert" : "status");
  }

  function bridge() {
    var b = window.WeixinJSBridge;
    return b && typeof b.invoke === "function" ? b : null;
  }

  function pay() {
    var b = bridge();
    if (!b) { say(root.dataset.msgNoBridge, true); retry.hidden = false; return; }
    if (busy) return;
    busy = true; started = true; retry.hidden = true;
    say(root.dataset.msgWaiting, false);
    b.invoke("getBrandWCPayRequest", params, function (res) {
      busy = false;
      var answer = (res && res.err_msg) || "";
      if (answer === "get_brand_wcpay_request:ok") {
        say(root.dataset.msgPaid, false);
        window.location.replace(root.dataset.doneUrl);
        return;
      }
      say(answer === "get_brand_wcpay_request:cancel" ? root.dataset.msgCancelled : root.dataset.msgFailed, true);
      retry.hidden = false;
    });
  }

  retry.form.addEventListener("submit", function (event) { event.preventDefault(); pay(); });
  if (bridge()) {
    pay();
  } else {
    // WeChat injects its bridge after the page: wait for it, then say so if it never comes.
    document.addEventListener("WeixinJSBridgeReady", function () { if (!started) pay(); }, false);
    window.setTimeout(function () { if (!started && !bridge()) { say(root.dataset.msgNoBridge, true); retry.hidden = false; } }, 4000);
  }
})();
