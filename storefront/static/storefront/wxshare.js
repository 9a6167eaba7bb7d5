/* The share card inside WeChat's browser (storefront/wxshare): title, description, picture and
   link of this page for "send to chat" and "Moments". Outside WeChat it does nothing.
   The page's card is the JSON in #wx-share (the same for every visitor: pages are cached); the
   reader's own share link is the one this page shows her (a single input.share-url), else her
   link of this product from /wx/jsconfig, else the page itself. */
(function () {
  "use strict";
  if (!/MicroMessenger/i.test(navigator.userAgent || "")) return;
  var node = document.getElementById("wx-share");
  if (!node || !window.fetch) return;
  var share;
  try {
    share = JSON.parse(node.textContent);
  } catch (e) {
    return;
  }
  var SDK = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js";
  // WeChat signs the page's address without its #fragment.
  var query = "url=" + encodeURIComponent(location.href.split("#")[0]);
  if (share.listing) query += "&listing=" + encodeURIComponent(share.listing);

  function ownLink() {
    var inputs = document.querySelectorAll("input.share-url");
    return inputs.length === 1 ? inputs[0].value : "";
  }

  function sdk(done) {
    if (window.wx) return done();
    var script = document.createElement("script");
    script.src = SDK;
    script.onload = done;
    document.head.appendChild(script);
  }

  function apply(config) {
    var wx = window.wx;
    if (!wx) return;
    wx.config({
      debug: false,
      appId: config.appId,
      timestamp: config.timestamp,
      nonceStr: config.nonceStr,
      signature: config.signature,
      jsApiList: config.jsApiList
    });
    wx.ready(function () {
      var link = ownLink() || config.shareLink || share.link;
      if (wx.updateAppMessageShareData) {
        wx.updateAppMessageShareData({
          title: share.title, desc: share.desc, link: link, imgUrl: share.imgUrl
        });
      }
      if (wx.updateTimelineShareData) {
        wx.updateTimelineShareData({ title: share.title, link: link, imgUrl: share.imgUrl });
      }
    });
  }

  fetch(share.configUrl + "?" + query, {
    credentials: "same-origin",
    headers: { Accept: "application/json" }
  })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (config) { if (config && config.signature) sdk(function () { apply(config); }); })
    .catch(function () { /* no card: WeChat shows its default one */ });
})();
