// Outcome trend charts: each <canvas data-chart="ID"> is drawn from the JSON in <script type="application/json" id="ID">.
(function () {
  "use strict";

  // Series colours come from the design tokens (--podium-chart-1 … 7 in static/css/app.css).
  var PALETTE = (function () {
    var style = getComputedStyle(document.documentElement);
    var colours = [];
    for (var i = 1; i <= 7; i += 1) {
      var value = style.getPropertyValue("--podium-chart-" + i).trim();
      if (value) { colours.push(value); }
    }
    return colours.length ? colours : ["black"];
  }());

  function readSpec(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return null; }
    try {
      return JSON.parse(source.textContent);
    } catch (error) {
      return null;
    }
  }

  function datasetsOf(spec) {
    return spec.datasets.map(function (dataset, index) {
      var colour = PALETTE[index % PALETTE.length];
      return {
        label: dataset.label,
        data: dataset.data,
        borderColor: colour,
        backgroundColor: spec.type === "bar" ? colour + "cc" : colour,
        borderWidth: 2,
        pointRadius: 2,
        tension: 0.2,
        spanGaps: false
      };
    });
  }

  function draw(canvas) {
    var spec = readSpec(canvas);
    if (!spec || typeof window.Chart === "undefined" || canvas.dataset.drawn === "true") { return; }
    var suffix = spec.suffix || "";
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasetsOf(spec) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = context.parsed.y;
                return context.dataset.label + ": " + (value === null ? "—" : value.toLocaleString() + suffix);
              }
            }
          }
        },
        scales: {
          y: {
            beginAtZero: true,
            title: { display: Boolean(spec.axis), text: spec.axis },
            ticks: { callback: function (value) { return Number(value).toLocaleString() + suffix; } }
          }
        }
      }
    });
    canvas.dataset.drawn = "true";
    return chart;
  }

  function drawAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  } else {
    drawAll(document);
  }
})();
