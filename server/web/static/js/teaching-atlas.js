/* The class atlas: one bar chart per grouping, the mean score of each group with
 * its number of submissions. Data comes from the JSON block #atlas-data (CSP). */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("atlas-data");
    if (!source || !window.Chart) return;
    var charts = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    var color = styles.getPropertyValue("--chart-team").trim() || "#2563eb";
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    document.querySelectorAll("canvas.atlas-canvas").forEach(function (canvas) {
      var groups = charts[Number(canvas.getAttribute("data-index"))] || [];
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: groups.map(function (g) { return g.key + " (n=" + g.count + ")"; }),
          datasets: [{ label: canvas.getAttribute("data-label"), data: groups.map(function (g) { return g.mean; }), backgroundColor: color }]
        },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } } }
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
