/* The team page's chart: best public score over time, next to the leader's.
 * Data comes from the JSON block #chart-data (no inline script: CSP). */
(function () {
  "use strict";

  function draw() {
    var canvas = document.getElementById("score-chart");
    var source = document.getElementById("chart-data");
    if (!canvas || !source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = styles.getPropertyValue("--muted").trim() || "#4b5563";
    var colors = {
      team: styles.getPropertyValue("--chart-team").trim() || "#2563eb",
      leader: styles.getPropertyValue("--chart-leader").trim() || "#d97706",
      baseline: styles.getPropertyValue("--chart-baseline").trim() || "#6b7280"
    };
    var dateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    var xs = data.series.reduce(function (all, s) { return all.concat(s.points.map(function (p) { return p.x; })); }, [data.end]);
    var spanDays = (Math.max.apply(null, xs) - Math.min.apply(null, xs)) / 86400000;
    var tickFormat = spanDays > 2 ? new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" }) : dateFormat;
    var datasets = data.series.map(function (series) {
      var points = series.points.slice();
      if (points.length) points.push({ x: data.end, y: points[points.length - 1].y });
      return {
        label: series.role === "leader" ? series.name + " (leader)" : series.name,
        data: points,
        stepped: "before",
        borderColor: colors[series.role],
        backgroundColor: colors[series.role],
        borderWidth: series.role === "team" ? 3 : 2,
        borderDash: series.role === "leader" ? [6, 4] : [],
        pointRadius: points.map(function (_, i) { return i === points.length - 1 ? 0 : 4; }),
        pointHoverRadius: 6
      };
    });
    var empty = datasets.every(function (d) { return d.data.length === 0; });
    // Baseline rows: horizontal lines across the whole time axis.
    var start = Math.min.apply(null, xs);
    (data.baselines || []).forEach(function (baseline) {
      datasets.push({
        label: baseline.name,
        data: [{ x: start, y: baseline.y }, { x: data.end, y: baseline.y }],
        borderColor: colors.baseline,
        backgroundColor: colors.baseline,
        borderWidth: 1.5,
        borderDash: [2, 3],
        pointRadius: 0,
        pointHoverRadius: 0
      });
    });
    canvas.closest(".chart-box").classList.toggle("chart-empty", empty);
    new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: { type: "linear", ticks: { maxTicksLimit: 6, callback: function (value) { return tickFormat.format(new Date(value)); } } },
          y: { reverse: false, title: { display: true, text: data.metric } }
        },
        plugins: {
          legend: { position: "bottom", labels: { usePointStyle: true, pointStyle: "line" } },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? dateFormat.format(new Date(items[0].parsed.x)) : ""; },
              label: function (item) { return item.dataset.label + ": " + window.Podium.formatScore(item.parsed.y); }
            }
          }
        }
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
