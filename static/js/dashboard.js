// Runs per day, stacked by state.
(function () {
  const data = JSON.parse(document.getElementById("runs-by-day").textContent);
  const colours = { queued: "#9aa5b4", running: "#2f6fde", completed: "#1e8e3e", failed: "#c0392b", canceled: "#b7791f" };
  const traces = Object.keys(colours).map((state) => ({
    type: "bar", name: state, x: data.days, y: data[state], marker: { color: colours[state] },
  }));
  Plotly.newPlot("plot-runs", traces, {
    barmode: "stack", template: "plotly_white", height: 320, margin: { l: 40, r: 20, t: 10, b: 40 },
    yaxis: { title: "runs" }, xaxis: { type: "date", tickformat: "%b %d", dtick: 86400000 },
  }, { responsive: true, displaylogo: false });
})();
