/*! KIKI conversion snippet (docs/conversions.md).
 *
 * On a landing page: keeps the `kiki_click` id of an ad click in a
 * first-party cookie and localStorage for the attribution window.
 * On an order confirmation page: reports the order with the public site key.
 *
 *   <script async src="https://kiki.example/v1/conversions/snippet.js"
 *     data-site-key="site_..."></script>
 *   <script async src="https://kiki.example/v1/conversions/snippet.js"
 *     data-site-key="site_..." data-order-id="A-1001"
 *     data-value="49.99" data-currency="EUR"></script>
 *
 * or, from the page's own code: kiki.conversion({order_id: "A-1001",
 * value: {amount: "49.99", currency: "EUR"}}).
 *
 * No eval, no inline code, no third-party cookie: it runs under a strict
 * Content-Security-Policy that allows this script's origin in script-src and
 * connect-src.
 */
(function () {
  "use strict";
  var PARAM = "kiki_click";
  var STORE = "_kiki_click";
  var SENT = "_kiki_sent";
  var WINDOW_DAYS = __KIKI_WINDOW_DAYS__;
  var DAY_MS = 86400000;
  var CLICK_ID = /^[A-Za-z0-9_-]{1,428}$/;

  var script = document.currentScript ||
    document.querySelector('script[src*="/conversions/snippet.js"]');
  if (!script || !script.src) {
    return;
  }
  var endpoint = new URL("collect", script.src).href;
  var siteKey = script.getAttribute("data-site-key");

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  function remember(id) {
    var s = storage();
    if (s) {
      try {
        s.setItem(STORE, JSON.stringify({ id: id, expires: Date.now() + WINDOW_DAYS * DAY_MS }));
      } catch (e) { /* full or blocked: the cookie still holds it */ }
    }
    document.cookie = STORE + "=" + id + "; Max-Age=" + WINDOW_DAYS * 86400 +
      "; Path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  function recall() {
    var s = storage();
    if (s) {
      try {
        var saved = JSON.parse(s.getItem(STORE) || "null");
        if (saved && CLICK_ID.test(saved.id) && saved.expires > Date.now()) {
          return saved.id;
        }
      } catch (e) { /* unreadable: fall back to the cookie */ }
    }
    var parts = document.cookie.split(/;\s*/);
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === STORE && CLICK_ID.test(parts[i].slice(eq + 1))) {
        return parts[i].slice(eq + 1);
      }
    }
    return null;
  }

  function alreadySent(orderId) {
    var s = storage();
    if (!s) {
      return false;
    }
    try {
      var sent = JSON.parse(s.getItem(SENT) || "[]");
      if (sent.indexOf(orderId) >= 0) {
        return true;
      }
      sent.push(orderId);
      s.setItem(SENT, JSON.stringify(sent.slice(-50)));
    } catch (e) { /* the server counts an order once anyway */ }
    return false;
  }

  // Reports an order: {order_id, value: {amount, currency} or {micros,
  // currency}, customer_id?, occurred_at?}. True when it was sent: a click
  // id is kept, the site key is set, and the order was not sent from this
  // browser before.
  function conversion(order) {
    var click = recall();
    if (!click || !siteKey || !order || !order.order_id || !order.value) {
      return false;
    }
    var orderId = String(order.order_id);
    if (alreadySent(orderId)) {
      return false;
    }
    var body = JSON.stringify({
      site_key: siteKey,
      click_id: click,
      order_id: orderId,
      value: order.value,
      customer_id: order.customer_id ? String(order.customer_id) : undefined,
      occurred_at: order.occurred_at || undefined
    });
    // text/plain: a simple request, no CORS preflight.
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }))) {
      return true;
    }
    if (window.fetch) {
      window.fetch(endpoint, {
        method: "POST",
        body: body,
        keepalive: true,
        mode: "cors",
        credentials: "omit",
        headers: { "Content-Type": "text/plain" }
      }).catch(function () { /* nothing more to do in a browser */ });
      return true;
    }
    return false;
  }

  var landing = new URLSearchParams(window.location.search).get(PARAM);
  if (landing && CLICK_ID.test(landing)) {
    remember(landing);
  }

  var kiki = window.kiki = window.kiki || {};
  kiki.conversion = conversion;
  // Calls queued before the snippet loaded: window.kikiq = [["conversion", {...}]].
  var queued = window.kikiq;
  if (queued && queued.length) {
    for (var q = 0; q < queued.length; q++) {
      if (queued[q] && queued[q][0] === "conversion") {
        conversion(queued[q][1]);
      }
    }
  }

  var orderId = script.getAttribute("data-order-id");
  if (orderId) {
    conversion({
      order_id: orderId,
      value: { amount: script.getAttribute("data-value"), currency: script.getAttribute("data-currency") },
      customer_id: script.getAttribute("data-customer-id")
    });
  }
})();
