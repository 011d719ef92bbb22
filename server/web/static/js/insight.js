/* Challenge page extras: the efficiency-columns toggle and the score-vs-size chart.
 * The chart reads the leaderboard JSON (same origin); names are drawn as canvas text. */
(function () {
  "use strict";

  var STORAGE_KEY = "podium.showEfficiency";

  function setupToggle() {
    var toggle = document.getElementById("efficiency-toggle");
    var table = document.querySelector("table.leaderboard");
    if (!toggle || !table) return;
    var saved = null;
    try { saved = window.localStorage.getItem(STORAGE_KEY); } catch (e) { saved = null; }
    toggle.checked = saved === "1";
    table.classList.toggle("show-eff", toggle.checked);
    toggle.addEventListener("change", function () {
      table.classList.toggle("show-eff", toggle.checked);
      try { window.localStorage.setItem(STORAGE_KEY, toggle.checked ? "1" : "0"); } catch (e) { /* private mode */ }
    });
  }

  function formatCount(value) {
    if (value >= 1e6) return (value / 1e6).toFixed(value >= 1e7 ? 0 : 1) + "M";
    if (value >= 1e3) return (value / 1e3).toFixed(value >= 1e4 ? 0 : 1) + "k";
    return String(value);
  }

  function drawEfficiency(canvas, board) {
    var styles = getComputedStyle(document.documentElement);
    var color = styles.getPropertyValue("--chart-team").trim() || "#2563eb";
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = styles.getPropertyValue("--muted").trim() || "#4b5563";
    var points = board.entries
      .filter(function (e) { return e.parameter_count !== null && e.parameter_count > 0; })
      .map(function (e) {
        return { x: e.parameter_count, y: e.score, team: e.team, rank: e.rank, seconds: e.inference_seconds_per_1k };
      });
    canvas.closest(".chart-box").classList.toggle("chart-empty", points.length === 0);
    var datasets = [{ label: "Teams", data: points, pointRadius: 6, pointHoverRadius: 8, backgroundColor: color, borderColor: color }];
    // Baseline rows: horizontal lines across the teams' range of sizes.
    var sizes = points.map(function (p) { return p.x; });
    var grey = styles.getPropertyValue("--chart-baseline").trim() || "#6b7280";
    (board.baselines || []).forEach(function (baseline) {
      if (!sizes.length) return;
      datasets.push({
        label: baseline.label,
        data: [{ x: Math.min.apply(null, sizes), y: baseline.score, baseline: baseline.label }, { x: Math.max.apply(null, sizes), y: baseline.score, baseline: baseline.label }],
        showLine: true, borderColor: grey, backgroundColor: grey, borderWidth: 1.5, borderDash: [2, 3], pointRadius: 0, pointHoverRadius: 0
      });
    });
    new window.Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "logarithmic", title: { display: true, text: "Parameters" }, ticks: { callback: function (value) { return formatCount(value); } } },
          y: { title: { display: true, text: board.metric } }
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var p = item.raw;
                if (p.baseline) return p.baseline + ": " + window.Podium.formatScore(p.y);
                var text = "#" + p.rank + " " + p.team + ": " + window.Podium.formatScore(p.y) + ", " + p.x.toLocaleString() + " parameters";
                if (p.seconds !== null && p.seconds !== undefined) text += ", " + window.Podium.formatScore(p.seconds, 3) + " s / 1k";
                return text;
              }
            }
          }
        }
      }
    });
  }

  function setupChart() {
    var canvas = document.getElementById("efficiency-chart");
    if (!canvas || !window.Chart) return;
    fetch(canvas.dataset.source, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (board) { drawEfficiency(canvas, board); })
      .catch(function () { canvas.closest(".chart-box").classList.add("chart-empty"); });
  }

  function start() {
    setupToggle();
    setupChart();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
