// The till's small helpers: picking dishes from the menu (filter, categories, +/−, keyboard), the
// live quote while the cashier types, "use all points", one submit per form. Every amount comes
// from the API's quote endpoint; nothing is computed here.
(function () {
  "use strict";
  var english = document.documentElement.lang === "en";

  function yuan(text) {
    var negative = String(text).charAt(0) === "-";
    var parts = String(text).replace("-", "").split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + "¥" + whole + "." + ((parts[1] || "") + "00").slice(0, 2);
  }

  function cell(tag, text, className) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (className) { node.className = className; }
    return node;
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
    document.querySelectorAll(".till-dish [data-unsent]").forEach(function (input) {
      input.disabled = false;
      input.removeAttribute("data-unsent");
    });
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
  var labels = JSON.parse(table.dataset.labels || "{}");
  var timer = null;
  var sequence = 0;

  // ------------------------------------------------------------ the menu and the bill's lines

  var tools = document.getElementById("menu-tools");
  var filter = document.getElementById("menu-filter");
  var noMatch = document.getElementById("menu-no-match");
  var dishes = Array.prototype.slice.call(document.querySelectorAll(".till-dish"));
  var quantityInputs = Array.prototype.slice.call(document.querySelectorAll(".till-qty-input"));
  var linesBody = document.getElementById("lines-body");
  var linesTable = document.getElementById("lines-table");
  var linesEmpty = document.getElementById("lines-empty");
  var linesClear = document.getElementById("lines-clear");
  var category = "";

  function quantityOf(input) {
    var value = parseInt(input.value, 10);
    return isNaN(value) || value < 0 ? 0 : value;
  }

  function setQuantity(input, value) {
    var most = parseInt(input.max, 10) || 999;
    input.value = String(Math.max(0, Math.min(most, value)));
    changed();
  }

  function step(dishId, by) {
    var input = document.getElementById("qty-" + dishId);
    if (input) { setQuantity(input, quantityOf(input) + by); }
  }

  function lines() {
    var picked = [];
    quantityInputs.forEach(function (input) {
      var quantity = quantityOf(input);
      if (quantity > 0) {
        picked.push({ input: input, dish_id: input.closest(".till-dish").dataset.dish, quantity: quantity });
      }
    });
    return picked;
  }

  function stepButton(dishId, by, label) {
    var button = cell("button", by > 0 ? "+" : "−", "till-step");
    button.type = "button";
    button.setAttribute("aria-label", label);
    button.addEventListener("click", function () { step(dishId, by); });
    return button;
  }

  function drawLines() {
    var picked = lines();
    linesBody.textContent = "";
    picked.forEach(function (line) {
      var row = document.createElement("tr");
      row.dataset.dish = line.dish_id;
      row.appendChild(cell("th", line.input.dataset.name));
      row.appendChild(cell("td", line.input.dataset.price + " × " + line.quantity, "num money line-qty"));
      var controls = document.createElement("td");
      controls.className = "till-line-steps";
      var dish = line.input.closest(".till-dish");
      controls.appendChild(stepButton(line.dish_id, -1, dish.querySelector("[data-step='-1']").getAttribute("aria-label")));
      controls.appendChild(stepButton(line.dish_id, 1, dish.querySelector(".till-qty [data-step='1']").getAttribute("aria-label")));
      row.appendChild(controls);
      linesBody.appendChild(row);
    });
    linesTable.hidden = picked.length === 0;
    linesClear.hidden = picked.length === 0;
    linesEmpty.hidden = picked.length > 0;
    dishes.forEach(function (dish) {
      var input = dish.querySelector(".till-qty-input");
      dish.classList.toggle("till-dish-picked", !!input && quantityOf(input) > 0);
    });
  }

  function visibleDishes() {
    return dishes.filter(function (dish) { return !dish.hidden && !dish.classList.contains("till-dish-off"); });
  }

  function applyFilter() {
    var words = filter ? filter.value.trim().toLowerCase() : "";
    var shown = 0;
    dishes.forEach(function (dish) {
      var matches = (!category || dish.dataset.category === category) &&
        (!words || dish.dataset.search.indexOf(words) !== -1);
      dish.hidden = !matches;
      if (matches) { shown += 1; }
    });
    if (noMatch) { noMatch.hidden = shown > 0 || dishes.length === 0; }
  }

  function focusDish(index) {
    var visible = visibleDishes();
    if (!visible.length) { return; }
    var target = visible[Math.max(0, Math.min(visible.length - 1, index))];
    target.querySelector(".till-dish-add").focus();
  }

  if (tools) {
    tools.hidden = false;
    tools.querySelectorAll(".till-cat").forEach(function (chip) {
      chip.addEventListener("click", function () {
        category = chip.dataset.category;
        tools.querySelectorAll(".till-cat").forEach(function (other) {
          other.setAttribute("aria-pressed", other === chip ? "true" : "false");
        });
        applyFilter();
      });
    });
    filter.addEventListener("input", applyFilter);
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        var first = visibleDishes()[0];
        if (first) { step(first.dataset.dish, 1); }
      } else if (event.key === "Escape") {
        filter.value = "";
        applyFilter();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        focusDish(0);
      }
    });
  }

  dishes.forEach(function (dish) {
    var input = dish.querySelector(".till-qty-input");
    if (!input) { return; }
    dish.querySelectorAll("[data-step]").forEach(function (button) {
      button.addEventListener("click", function () { step(dish.dataset.dish, parseInt(button.dataset.step, 10)); });
    });
    var add = dish.querySelector(".till-dish-add");
    add.addEventListener("keydown", function (event) {
      var index = visibleDishes().indexOf(dish);
      if (event.key === "ArrowDown") { event.preventDefault(); focusDish(index + 1); }
      else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (index <= 0 && filter) { filter.focus(); } else { focusDish(index - 1); }
      }
      else if (event.key === "-" || event.key === "Subtract") { event.preventDefault(); step(dish.dataset.dish, -1); }
      else if (event.key === "+" || event.key === "Add") { event.preventDefault(); step(dish.dataset.dish, 1); }
    });
    // Enter in a quantity field goes back to the dish search instead of checking out.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        if (filter && !tools.hidden) { filter.focus(); filter.select(); }
      }
    });
  });

  if (linesClear) {
    linesClear.addEventListener("click", function () {
      quantityInputs.forEach(function (input) { input.value = "0"; });
      changed();
    });
  }

  // Only the dishes on the bill are sent: the rest of the menu stays out of the form post.
  form.addEventListener("submit", function () {
    quantityInputs.forEach(function (input) {
      if (quantityOf(input) === 0) {
        var dishId = input.closest(".till-dish").querySelector("input[name=dish_id]");
        [input, dishId].forEach(function (field) { field.disabled = true; field.setAttribute("data-unsent", "1"); });
      }
    });
  });

  // ------------------------------------------------------------ the live quote

  function body(usePoints) {
    var coupons = [];
    form.querySelectorAll("input[name=coupon_codes]:checked").forEach(function (box) { coupons.push(box.value); });
    var request = {
      store_id: form.dataset.store,
      items: lines().map(function (line) { return { dish_id: line.dish_id, quantity: line.quantity }; }),
      use_points: usePoints,
      coupon_codes: coupons,
      pay_with_balance: balance.checked,
      other_tender: tender.value
    };
    if (bill.value.trim()) { request.bill_total = bill.value.trim(); }
    return request;
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

  function couponName(code) {
    var label = document.querySelector("label[for='coupon-" + code + "']");
    return label ? label.firstChild.textContent.trim() : code;
  }

  function show(answer) {
    if (!answer.ok) {
      var data = answer.data || {};
      error.textContent = (english ? data.message_en : data.message_zh) || data.detail || data.title || "";
      error.hidden = false;
      table.hidden = true;
      wait.hidden = true;
      return;
    }
    var q = answer.data;
    error.hidden = true;
    wait.hidden = true;
    table.hidden = false;
    document.getElementById("q-bill").textContent = yuan(q.bill_total);
    var discounts = document.getElementById("q-discounts");
    discounts.textContent = "";
    q.discounts.forEach(function (d) {
      var row = document.createElement("tr");
      row.appendChild(cell("th", "· " + (labels[d.kind] || d.kind)));
      row.appendChild(cell("td", "-" + yuan(d.amount), "num money"));
      discounts.appendChild(row);
    });
    var coupons = document.getElementById("q-coupons");
    coupons.textContent = "";
    q.coupons.forEach(function (c) {
      var row = document.createElement("tr");
      row.className = "q-coupon";
      row.appendChild(cell("th", "· " + couponName(c.code)));
      row.appendChild(cell("td", "-" + yuan(c.amount), "num money"));
      coupons.appendChild(row);
    });
    document.getElementById("q-discount").textContent = "-" + yuan(q.discount);
    document.getElementById("q-coupon").textContent = "-" + yuan(q.coupon_discount);
    document.getElementById("q-points").textContent = "-" + yuan(q.points_deduction) + " (" + q.points_used + ")";
    document.getElementById("q-payable").textContent = yuan(q.payable);
    document.getElementById("q-balance").textContent = yuan(q.paid_from_balance.total);
    document.getElementById("q-other").textContent = yuan(q.due_other_tender);
    document.getElementById("q-earned").textContent = String(q.points_earned);
    form.dataset.maxPoints = String(q.max_points_usable);
  }

  function billReady() {
    var typed = bill.value.trim();
    if (typed) { return /^\d+(\.\d{1,2})?$/.test(typed); }
    return lines().length > 0;
  }

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

  function changed() {
    drawLines();
    later();
  }

  form.addEventListener("input", function (event) {
    if (event.target === filter) { return; }
    if (event.target.classList && event.target.classList.contains("till-qty-input")) { drawLines(); }
    later();
  });
  form.addEventListener("change", later);
  document.getElementById("use-all-points").addEventListener("click", function () {
    if (!billReady()) { (filter && !tools.hidden ? filter : bill).focus(); return; }
    ask(0).then(function (answer) {
      if (!answer.ok) { show(answer); return; }
      var most = Math.min(parseInt(form.dataset.points, 10) || 0, answer.data.max_points_usable);
      points.value = String(Math.max(most, 0));
      refresh();
    });
  });

  drawLines();
  applyFilter();
  if (billReady()) { refresh(); }
  if (filter && !tools.hidden && !document.getElementById("till-refusal") &&
      (!document.activeElement || document.activeElement === document.body)) {
    filter.focus();
  }
})();
