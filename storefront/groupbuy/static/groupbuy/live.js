// Live group buy figures: each [data-groupbuy-live] element shows its state URL's text, read
// again every 15 s while the page is visible. The page around it may be cached; this is not.
(function () {
  if (window.vsGroupBuyLive) return;
  window.vsGroupBuyLive = true;
  function refresh() {
    if (document.hidden) return;
    document.querySelectorAll("[data-groupbuy-live]").forEach(function (el) {
      fetch(el.getAttribute("data-groupbuy-live"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (!state) return;
          el.textContent = state.text;
          var price = document.querySelector("[data-groupbuy-price]");
          if (price && state.open) price.textContent = state.price;
        })
        .catch(function () {});
    });
  }
  document.addEventListener("DOMContentLoaded", refresh);
  if (document.readyState !== "loading") refresh();
  setInterval(refresh, 15000);
})();
