/* Development only (loaded when DEBUG is on and WeChat Pay is not configured): stand-ins for
   what WeChat's browser gives a page, so the in-WeChat checkout can be tried in any browser.

   - WeixinJSBridge.invoke("getBrandWCPayRequest", params, cb): a confirm sheet; "pay" pays the
     order's sandbox payment through the shop's stand-in endpoint (the sandbox provider's own
     booking, then its signed notification), then answers cb as WeChat does.
   - wx.config / wx.ready / wx.error / wx.openAddress: openAddress answers a fixed demo address.

   Nothing here runs where WeChat's own objects exist. */
(function () {
  "use strict";

  var DEMO_ADDRESS = {
    errMsg: "openAddress:ok",
    userName: "张小凡",
    telNumber: "13800138000",
    postalCode: "510000",
    provinceName: "广东省",
    cityName: "广州市",
    countyName: "天河区",
    detailInfo: "天河路 100 号 8 栋 801"
  };

  function csrfToken() {
    var input = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function sheet(amount, onPay, onCancel) {
    var box = document.createElement("div");
    box.className = "wx-standin-sheet";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-label", "开发用：模拟微信支付");
    box.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;" +
      "align-items:flex-end;z-index:9999";
    var panel = document.createElement("div");
    panel.style.cssText = "background:#fff;color:#111;width:100%;padding:20px 16px 28px;" +
      "border-radius:12px 12px 0 0;font-size:16px;text-align:center";
    var title = document.createElement("p");
    title.textContent = "开发用：模拟微信支付";
    title.style.cssText = "margin:0 0 8px;font-weight:600";
    var sum = document.createElement("p");
    sum.textContent = amount || "";
    sum.style.cssText = "margin:0 0 16px;font-size:28px";
    var pay = document.createElement("button");
    pay.type = "button";
    pay.className = "wx-standin-pay";
    pay.textContent = "模拟支付";
    pay.style.cssText = "display:block;width:100%;min-height:44px;margin-bottom:8px;" +
      "background:#07c160;color:#fff;border:0;border-radius:8px;font-size:16px";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "wx-standin-cancel";
    cancel.textContent = "取消";
    cancel.style.cssText = "display:block;width:100%;min-height:44px;background:#f2f2f2;" +
      "border:0;border-radius:8px;font-size:16px";
    panel.appendChild(title); panel.appendChild(sum); panel.appendChild(pay); panel.appendChild(cancel);
    box.appendChild(panel);
    document.body.appendChild(box);
    function close() { if (box.parentNode) box.parentNode.removeChild(box); }
    pay.addEventListener("click", function () { pay.disabled = true; close(); onPay(); });
    cancel.addEventListener("click", function () { close(); onCancel(); });
  }

  function brandPay(params, cb) {
    var root = document.querySelector("[data-wx-standin-pay]");
    var answer = function (what) { if (typeof cb === "function") cb({ err_msg: "get_brand_wcpay_request:" + what }); };
    if (!root) { answer("fail"); return; }
    sheet(root.dataset.wxAmount, function () {
      fetch(root.dataset.wxStandinPay, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" }
      })
        .then(function (r) { return r.ok ? "ok" : "fail"; })
        .catch(function () { return "fail"; })
        .then(answer);
    }, function () { answer("cancel"); });
  }

  if (!window.WeixinJSBridge) {
    window.WeixinJSBridge = {
      invoke: function (name, params, cb) {
        if (name === "getBrandWCPayRequest") { brandPay(params, cb); return; }
        if (typeof cb === "function") cb({ err_msg: name + ":fail not in the stand-in" });
      }
    };
  }

  if (!window.wx) {
    window.wx = {
      standin: true,
      config: function () {},
      ready: function (fn) { window.setTimeout(fn, 0); },
      error: function () {},
      openAddress: function (options) {
        var o = options || {};
        window.setTimeout(function () {
          if (typeof o.success === "function") o.success(Object.assign({}, DEMO_ADDRESS));
        }, 0);
      }
    };
  }
})();
