// KIKI dashboard enhancement. Everything works without this file; with it,
// the server-rendered SVG charts become interactive uPlot charts built from
// the JSON in their data-series attribute (an attribute, not a script block:
// htmx drops script elements from the content it swaps in).
(function () {
  "use strict";

  function money(currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency });
    } catch (e) {
      return { format: function (v) { return v.toFixed(2) + " " + currency; } };
    }
  }

  function cssVar(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  // Charts on the page, resized together; those swapped out are dropped.
  var charts = [];

  function resizeAll() {
    charts = charts.filter(function (c) { return document.body.contains(c.live); });
    charts.forEach(function (c) {
      c.chart.setSize({ width: Math.max(280, c.live.parentElement.clientWidth - 8), height: 260 });
    });
  }

  function enhance(figure) {
    if (typeof window.uPlot !== "function" || figure.classList.contains("live")) return;
    var live = figure.querySelector(".chart-live");
    if (!live) return;
    var data;
    try { data = JSON.parse(figure.getAttribute("data-series")); } catch (e) { return; }
    if (!data || !data.days || data.days.length === 0) return;
    var fmt = money(data.currency);
    // Amounts arrive as integer micros; the chart plots major units.
    var xs = data.days.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
    var rev = data.revenue_micros.map(function (m) { return m / 1e6; });
    var spend = data.spend_micros.map(function (m) { return m / 1e6; });
    var width = Math.max(280, live.parentElement.clientWidth - 8);
    var opts = {
      width: width,
      height: 260,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      series: [
        {},
        { label: "Revenue", stroke: cssVar("--revenue", "#1d4ed8"), width: 2, value: function (u, v) { return v == null ? "—" : fmt.format(v); } },
        { label: "Ad spend", stroke: cssVar("--spend", "#b45309"), width: 2, value: function (u, v) { return v == null ? "—" : fmt.format(v); } }
      ],
      axes: [{}, { size: 80, values: function (u, vals) { return vals.map(function (v) { return fmt.format(v); }); } }]
    };
    live.hidden = false;
    var chart = new uPlot(opts, [xs, rev, spend], live);
    figure.classList.add("live");
    charts.push({ chart: chart, live: live });
  }

  function enhanceAll(root) {
    var figures = (root || document).querySelectorAll("figure[data-series]");
    for (var i = 0; i < figures.length; i++) enhance(figures[i]);
  }

  document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  window.addEventListener("resize", resizeAll);
  // Content swapped in by htmx (boosted navigation) gets the same treatment.
  document.addEventListener("htmx:load", function (e) { enhanceAll(e.target); });
})();
