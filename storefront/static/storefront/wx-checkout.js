/* Inside WeChat: "use my WeChat address" (wx.openAddress) fills the checkout's address fields.
   wx.config comes from the page (#wx-config, signed for this URL by the server); without it
   (development) the stand-in's wx answers. checkout.js does the filling ("vs:address"). */
(function () {
  "use strict";
  var form = document.querySelector("form.checkout-form");
  var button = document.querySelector(".wx-address");
  if (!form || !button || !window.wx) return;
  var wx = window.wx;
  var problem = document.querySelector(".wx-address-problem");
  var config = document.getElementById("wx-config");

  if (config) {
    var c = JSON.parse(config.textContent);
    wx.config({
      debug: false,
      appId: c.appId,
      timestamp: c.timestamp,
      nonceStr: c.nonceStr,
      signature: c.signature,
      jsApiList: c.jsApiList
    });
    // A page WeChat will not sign for (another domain, a stale ticket): she types instead.
    wx.error(function () { button.hidden = true; });
  }
  wx.ready(function () { button.hidden = false; });

  button.addEventListener("click", function () {
    if (problem) problem.hidden = true;
    wx.openAddress({
      success: function (res) {
        form.dispatchEvent(new CustomEvent("vs:address", {
          detail: {
            recipient: res.userName || "",
            recipient_phone: res.telNumber || "",
            province: res.provinceName || "",
            city: res.cityName || "",
            district: res.countyName || "",
            street: res.detailInfo || "",
            postal_code: res.postalCode || ""
          }
        }));
      },
      cancel: function () {},
      fail: function () { if (problem) problem.hidden = false; }
    });
  });
})();
