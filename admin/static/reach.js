// Draws every [data-chart] element with Apache ECharts (vendored, no CDN): the option is
// JSON in data-option, built by admin/reach_charts.py. The SVG renderer prints sharply.
(function () {
  "use strict";
  function draw() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var option = JSON.parse(el.dataset.option);
      option.animation = false;
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option);
      el.dataset.rendered = String((option.series || []).reduce(function (n, s) {
        return n + (s.data || []).length;
      }, 0));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
