/* Checkout: the 省/市/区 picker and the delivery fee shown as soon as a province is chosen.
   The page works without this script: its "update" button re-renders both on the server. */
(function () {
  "use strict";
  var form = document.querySelector("form.checkout-form[data-divisions]");
  if (!form) return;
  var province = form.elements.province, city = form.elements.city, district = form.elements.district;
  var update = form.querySelector(".update-quote");
  if (update) update.hidden = true;
  var divisions = null, pending = null, asked = 0;

  function load() {
    if (divisions) return Promise.resolve(divisions);
    if (!pending) {
      pending = fetch(form.dataset.divisions, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { divisions = data.provinces; return divisions; });
    }
    return pending;
  }

  function fill(select, names) {
    var keep = select.value, placeholder = select.options[0] ? select.options[0].text : "";
    select.length = 0;
    select.add(new Option(placeholder, ""));
    names.forEach(function (name) { select.add(new Option(name, name)); });
    select.value = names.indexOf(keep) >= 0 ? keep : "";
    select.disabled = names.length === 0;
  }

  function cities() {
    return load().then(function (d) {
      fill(city, Object.keys(d[province.value] || {}));
      districts();
    });
  }

  function districts() {
    return load().then(function (d) {
      fill(district, ((d[province.value] || {})[city.value]) || []);
    });
  }

  function show(selector, on) {
    var el = form.querySelector(selector);
    if (el) el.hidden = !on;
  }

  function setAll(name, text) {
    document.querySelectorAll('[data-quote="' + name + '"]').forEach(function (el) { el.textContent = text; });
  }

  function quote() {
    var value = province.value, ticket = ++asked;
    if (!value) { show(".when-quoted", false); show(".when-unquoted", true); return; }
    var url = form.dataset.quoteUrl;
    url += (url.indexOf("?") >= 0 ? "&" : "?") + "province=" + encodeURIComponent(value);
    // The coupon she chose (or typed) prices the total too, as the order will.
    var coupon = form.querySelector('input[name="coupon"]:checked'), code = form.querySelector('input[name="code"]');
    if (coupon) url += "&coupon=" + encodeURIComponent(coupon.value);
    if (code && code.value) url += "&code=" + encodeURIComponent(code.value);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (ticket !== asked) return;  // a later choice answered first
        var error = form.querySelector(".quote-error");
        if (data.error) {
          error.textContent = data.error; error.hidden = false;
          show(".when-quoted", false); show(".when-unquoted", false);
          return;
        }
        error.hidden = true;
        setAll("shipping", data.shipping);
        setAll("total", data.total);
        setAll("coupon", data.coupon);
        document.querySelectorAll(".when-coupon").forEach(function (el) { el.hidden = !data.coupon_fen; });
        show(".when-quoted", true); show(".when-unquoted", false);
      })
      .catch(function () { if (update) update.hidden = false; });
  }

  // NAME as one of NAMES: itself, or the one it begins with or that begins with it, longest
  // first ("广东省" is "广东", "内蒙古自治区" is "内蒙古", "北京" is "北京市").
  function match(names, name) {
    if (!name) return "";
    if (names.indexOf(name) >= 0) return name;
    var best = "";
    names.forEach(function (n) {
      if ((name.indexOf(n) === 0 || n.indexOf(name) === 0) && n.length > best.length) best = n;
    });
    return best;
  }

  // An address (a saved card's, or WeChat's) fills the fields (the cities and districts lists
  // first), then the fee and total follow its province.
  function fillAddress(d) {
    ["recipient", "recipient_phone", "street"].forEach(function (name) { form.elements[name].value = d[name] || ""; });
    return load().then(function (all) {
      province.value = match(Object.keys(all), d.province || "");
      fill(city, Object.keys(all[province.value] || {}));
      city.value = match(Object.keys(all[province.value] || {}), d.city || "");
      fill(district, ((all[province.value] || {})[city.value]) || []);
      district.value = match(((all[province.value] || {})[city.value]) || [], d.district || "");
      quote();
    });
  }

  var useAddress = form.querySelector(".use-address");
  if (useAddress) useAddress.hidden = true;
  form.querySelectorAll('input[name="use_address"]').forEach(function (radio) {
    radio.addEventListener("change", function () { fillAddress(radio.dataset); });
  });
  // WeChat's address (wx-checkout.js): filled in, and shown, since she did not type it.
  form.addEventListener("vs:address", function (event) {
    form.querySelectorAll('input[name="use_address"]').forEach(function (radio) { radio.checked = false; });
    var details = form.querySelector("details.address-new");
    if (details) details.open = true;
    fillAddress(event.detail || {});
  });
  province.addEventListener("change", function () { cities(); quote(); });
  form.querySelectorAll('input[name="coupon"]').forEach(function (el) { el.addEventListener("change", quote); });
  city.addEventListener("change", districts);
  if (province.value) { cities(); quote(); } else { fill(city, []); fill(district, []); }
})();
