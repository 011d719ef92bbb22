/* Training curves on the submissions page: loss (left axis) and validation
 * metric (right axis) per epoch, one chart per fact sheet. Data comes from the
 * JSON block #curves-data (no inline script: CSP); values are numbers or null. */
(function () {
  "use strict";

  function number(value) {
    return typeof value === "number" && isFinite(value) ? value : null;
  }

  function series(points, key) {
    return points
      .map(function (p) { return { x: p.epoch, y: number(p[key]) }; })
      .filter(function (p) { return p.y !== null; });
  }

  function draw() {
    var source = document.getElementById("curves-data");
    if (!source || !window.Chart) return;
    var curves = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    var colors = {
      train: styles.getPropertyValue("--chart-team").trim() || "#2563eb",
      val: styles.getPropertyValue("--chart-leader").trim() || "#d97706",
      metric: styles.getPropertyValue("--chart-baseline").trim() || "#059669"
    };
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    document.querySelectorAll("canvas.curve-chart").forEach(function (canvas) {
      var points = curves[canvas.getAttribute("data-submission")] || [];
      var datasets = [
        { label: "train loss", key: "train_loss", axis: "loss", color: colors.train, dash: [] },
        { label: "validation loss", key: "val_loss", axis: "loss", color: colors.val, dash: [6, 4] },
        { label: "validation metric", key: "val_metric", axis: "metric", color: colors.metric, dash: [] }
      ].map(function (d) {
        return {
          label: d.label, data: series(points, d.key), yAxisID: d.axis,
          borderColor: d.color, backgroundColor: d.color, borderDash: d.dash,
          borderWidth: 2, pointRadius: 3
        };
      }).filter(function (d) { return d.data.length > 0; });
      var hasMetric = datasets.some(function (d) { return d.yAxisID === "metric"; });
      var hasLoss = datasets.some(function (d) { return d.yAxisID === "loss"; });
      new window.Chart(canvas, {
        type: "line",
        data: { datasets: datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          parsing: false,
          interaction: { mode: "nearest", intersect: false },
          scales: {
            x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { precision: 0 } },
            loss: { type: "linear", position: "left", display: hasLoss, title: { display: true, text: "loss" } },
            metric: { type: "linear", position: "right", display: hasMetric, title: { display: true, text: "validation metric" }, grid: { drawOnChartArea: false } }
          },
          plugins: { legend: { position: "bottom", labels: { usePointStyle: true, pointStyle: "line" } } }
        }
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
