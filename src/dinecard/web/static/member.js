// The member code page: fetch a fresh code every 60 seconds and count down to the next one.
(function () {
  "use strict";
  var card = document.querySelector(".me-code");
  if (!card) { return; }
  var period = parseInt(card.getAttribute("data-refresh"), 10) || 60;
  var qr = document.getElementById("member-qr");
  var digits = document.getElementById("member-code-digits");
  var countdown = document.getElementById("member-code-countdown");
  var template = countdown.getAttribute("data-template");
  var left = period;

  function show() { countdown.textContent = template.replace("{s}", String(left)); }

  function refresh() {
    left = period;
    show();
    return fetch("/me/code.json", { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location.href = "/me/login"; return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (!body) { return; }
        qr.innerHTML = body.svg; // rendered by our server from digits only
        digits.textContent = body.spaced;
        digits.setAttribute("data-code", body.code);
        period = body.refresh_seconds || period;
      })
      .catch(function () { /* a slow store network: the next tick tries again */ });
  }

  setInterval(function () {
    left -= 1;
    if (left <= 0) { refresh(); } else { show(); }
  }, 1000);
  document.getElementById("member-code-refresh").addEventListener("click", refresh);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  window.dinecardRefreshMemberCode = refresh;
})();
