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

  // The overfitting meter: validation (x) against public (y); private joins after finalize.
  function drawMeter() {
    var canvas = document.getElementById("meter-chart");
    var source = document.getElementById("meter-data");
    if (!canvas || !source || !window.Chart) return;
    var points = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    var team = styles.getPropertyValue("--chart-team").trim() || "#2563eb";
    var warn = styles.getPropertyValue("--chart-leader").trim() || "#d97706";
    var muted = styles.getPropertyValue("--chart-baseline").trim() || "#6b7280";
    var xs = points.map(function (p) { return p.val_metric; });
    var ys = points.map(function (p) { return p.public_score; });
    var lo = Math.min.apply(null, xs.concat(ys)), hi = Math.max.apply(null, xs.concat(ys));
    var datasets = [
      { label: "public", data: points.map(function (p) { return { x: p.val_metric, y: p.public_score }; }),
        backgroundColor: points.map(function (p) { return p.marked ? warn : team; }),
        borderColor: points.map(function (p) { return p.marked ? warn : team; }),
        pointRadius: points.map(function (p) { return p.marked ? 7 : 5; }), showLine: false },
      { label: "validation = public", data: [{ x: lo, y: lo }, { x: hi, y: hi }], borderColor: muted,
        borderDash: [4, 4], pointRadius: 0, showLine: true }
    ];
    var privates = points.filter(function (p) { return number(p.private_score) !== null; });
    if (privates.length) {
      datasets.push({ label: "private", data: privates.map(function (p) { return { x: p.val_metric, y: p.private_score }; }),
        backgroundColor: muted, borderColor: muted, pointStyle: "triangle", pointRadius: 6, showLine: false });
    }
    new window.Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets },
      options: {
        animation: false, maintainAspectRatio: false, parsing: false,
        scales: { x: { title: { display: true, text: "validation score" } }, y: { title: { display: true, text: "leaderboard score" } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function drawAll() { draw(); drawMeter(); }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
