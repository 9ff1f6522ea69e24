// The till's small helpers: the live quote while the cashier types, "use all points", one submit
// per form. Prices come from the API's quote endpoint; nothing is computed here.
(function () {
  "use strict";
  var english = document.documentElement.lang === "en";

  function yuan(text) {
    var negative = String(text).charAt(0) === "-";
    var parts = String(text).replace("-", "").split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + "¥" + whole + "." + ((parts[1] || "") + "00").slice(0, 2);
  }

  // One submit per form drawn: a double click sends one request (the server's idempotency key
  // would make a second one harmless anyway).
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[method=post]").forEach(function (form) { form.dataset.sent = ""; });
  });

  var form = document.getElementById("checkout-form");
  if (!form) { return; }
  var bill = document.getElementById("bill_total");
  var points = document.getElementById("use_points");
  var balance = document.getElementById("pay_with_balance");
  var tender = document.getElementById("other_tender");
  var table = document.getElementById("quote-table");
  var wait = document.getElementById("quote-wait");
  var error = document.getElementById("quote-error");
  var timer = null;
  var sequence = 0;

  function body(usePoints) {
    var coupons = [];
    form.querySelectorAll("input[name=coupon_codes]:checked").forEach(function (box) { coupons.push(box.value); });
    return {
      store_id: form.dataset.store,
      bill_total: bill.value.trim(),
      use_points: usePoints,
      coupon_codes: coupons,
      pay_with_balance: balance.checked,
      other_tender: tender.value
    };
  }

  function ask(usePoints) {
    return fetch("/api/v1/members/" + form.dataset.member + "/quote", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body(usePoints))
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }

  function show(answer) {
    if (!answer.ok) {
      var data = answer.data || {};
      error.textContent = (english ? data.message_en : data.message_zh) || data.detail || data.title || "";
      error.hidden = false;
      table.hidden = true;
      return;
    }
    var q = answer.data;
    error.hidden = true;
    wait.hidden = true;
    table.hidden = false;
    document.getElementById("q-discount").textContent = "-" + yuan(q.discount);
    document.getElementById("q-coupon").textContent = "-" + yuan(q.coupon_discount);
    document.getElementById("q-points").textContent = "-" + yuan(q.points_deduction) + " (" + q.points_used + ")";
    document.getElementById("q-payable").textContent = yuan(q.payable);
    document.getElementById("q-balance").textContent = yuan(q.paid_from_balance.total);
    document.getElementById("q-other").textContent = yuan(q.due_other_tender);
    document.getElementById("q-earned").textContent = String(q.points_earned);
    form.dataset.maxPoints = String(q.max_points_usable);
  }

  function billReady() { return /^\d+(\.\d{1,2})?$/.test(bill.value.trim()); }

  function refresh() {
    if (!billReady()) { table.hidden = true; wait.hidden = false; error.hidden = true; return; }
    var mine = ++sequence;
    ask(parseInt(points.value, 10) || 0).then(function (answer) {
      if (mine === sequence) { show(answer); }
    }).catch(function () { /* offline: the server still prices the checkout */ });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 250);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  document.getElementById("use-all-points").addEventListener("click", function () {
    if (!billReady()) { bill.focus(); return; }
    ask(0).then(function (answer) {
      if (!answer.ok) { show(answer); return; }
      var most = Math.min(parseInt(form.dataset.points, 10) || 0, answer.data.max_points_usable);
      points.value = String(Math.max(most, 0));
      refresh();
    });
  });
  if (billReady()) { refresh(); }
})();
