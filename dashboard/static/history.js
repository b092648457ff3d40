// Resident history charts, drawn with Chart.js (installed by npm, served from /static/vendor).
"use strict";

(function () {
  function labelOf(iso, bucket) {
    const d = new Date(iso);
    const opts = bucket === "day"
      ? { day: "2-digit", month: "short" }
      : { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" };
    return d.toLocaleString(undefined, opts);
  }

  function sharesChart(data) {
    const labels = data.buckets.map((b) => labelOf(b, data.bucket));
    const datasets = data.labels.map((name) => ({
      type: "line", label: name, data: data.shares[name].map((v) => (v === null ? null : v * 100)),
      borderColor: data.colours[name], backgroundColor: data.colours[name] + "55", fill: true,
      stack: "shares", pointRadius: 0, spanGaps: false, yAxisID: "y", tension: 0.2,
    }));
    datasets.push({ type: "bar", label: "alerts", data: data.alerts, backgroundColor: "#e0303099",
                    borderColor: "#e03030", yAxisID: "alerts", stack: "alerts", barPercentage: 0.6 });
    return new window.Chart(document.getElementById("shares-chart"), {
      data: { labels, datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { stacked: true, min: 0, max: 100, title: { display: true, text: "% of faces" } },
          alerts: { position: "right", beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false },
                    title: { display: true, text: "alerts" } },
          x: { ticks: { maxRotation: 0, autoSkip: true } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  function distributionChart(data) {
    return new window.Chart(document.getElementById("distribution-chart"), {
      type: "doughnut",
      data: { labels: data.labels, datasets: [{ data: data.labels.map((n) => data.distribution[n]),
                                                 backgroundColor: data.labels.map((n) => data.colours[n]) }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } },
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const el = document.getElementById("history-data");
    if (!el) return;
    if (!window.Chart) { document.getElementById("chart-missing").hidden = false; return; }
    const data = JSON.parse(el.textContent);
    window.AffectWatchCharts = { shares: sharesChart(data), distribution: distributionChart(data) };
  });
})();
