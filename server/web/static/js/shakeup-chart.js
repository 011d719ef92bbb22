/* The shake-up page's chart: public rank (x) against private rank (y), one dot per team.
 * Data comes from the JSON block #shakeup-data (no inline script: CSP). Team names are
 * drawn on the canvas as text, never parsed as HTML. */
(function () {
  "use strict";

  // Writes each team's name next to its dot (few teams: a class, a club).
  var labelPlugin = {
    id: "podiumTeamLabels",
    afterDatasetsDraw: function (chart) {
      var meta = chart.getDatasetMeta(0);
      var ctx = chart.ctx;
      ctx.save();
      ctx.font = "12px " + window.Chart.defaults.font.family;
      ctx.fillStyle = window.Chart.defaults.color;
      ctx.textBaseline = "middle";
      meta.data.forEach(function (element, index) {
        var point = chart.data.datasets[0].data[index];
        var name = point.team.length > 24 ? point.team.slice(0, 23) + "…" : point.team;
        // Near the right edge the name goes on the left of its dot.
        var left = element.x + 9 + ctx.measureText(name).width > chart.width;
        ctx.textAlign = left ? "right" : "left";
        ctx.fillText(name, left ? element.x - 9 : element.x + 9, element.y);
      });
      ctx.restore();
    }
  };

  // One tick per rank (1..n), however many teams: ranks are whole numbers.
  function rankTicks(axis) {
    var ticks = [];
    var last = Math.floor(axis.max);
    var step = Math.max(1, Math.ceil(last / 20));
    for (var rank = 1; rank <= last; rank += step) ticks.push({ value: rank });
    axis.ticks = ticks;
  }

  function draw() {
    var canvas = document.getElementById("shakeup-chart");
    var source = document.getElementById("shakeup-data");
    if (!canvas || !source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    function color(name, fallback) { return styles.getPropertyValue(name).trim() || fallback; }
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = color("--muted", "#4b5563");
    var up = color("--ok", "#166534"), down = color("--bad", "#991b1b"), same = color("--brand-2", "#2563eb");
    var n = Math.max(data.teams, 2);
    var pointColors = data.points.map(function (p) { return p.move > 0 ? up : (p.move < 0 ? down : same); });
    canvas.closest(".chart-box").classList.toggle("chart-empty", data.points.length === 0);
    new window.Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          {
            label: "Teams",
            data: data.points,
            pointRadius: 6,
            pointHoverRadius: 8,
            pointBackgroundColor: pointColors,
            pointBorderColor: pointColors
          },
          {
            label: "Same rank",
            type: "line",
            data: [{ x: 1, y: 1 }, { x: n, y: n }],
            borderColor: color("--border", "#dde3ee"),
            borderDash: [6, 4],
            borderWidth: 2,
            pointRadius: 0,
            pointHoverRadius: 0
          }
        ]
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        layout: { padding: { right: 24 } },
        scales: {
          x: { type: "linear", min: 0.5, max: n + 0.5, title: { display: true, text: "Public rank" }, afterBuildTicks: rankTicks },
          y: { type: "linear", min: 0.5, max: n + 0.5, reverse: true, title: { display: true, text: "Private (final) rank" }, afterBuildTicks: rankTicks }
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: function (item) { return item.datasetIndex === 0; },
            callbacks: {
              label: function (item) {
                var p = item.raw;
                var move = p.move > 0 ? "▲ " + p.move : (p.move < 0 ? "▼ " + (-p.move) : "no move");
                return p.team + ": public #" + p.x + " → private #" + p.y + " (" + move + ")";
              }
            }
          }
        }
      },
      plugins: [labelPlugin]
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
