// Runs per day, stacked by state, over the whole window the heading names (not only the days
// that had runs), at the width of its card.
(function () {
  const data = JSON.parse(document.getElementById("runs-by-day").textContent);
  const colours = { queued: "#9aa5b4", running: "#2f6fde", completed: "#1e8e3e", failed: "#c0392b", canceled: "#b7791f" };
  const traces = Object.keys(colours).map((state) => ({
    // One day wide (less a gap): plotly would size a lone bar from the data's spacing, a sliver.
    type: "bar", name: state, x: data.days, y: data[state], marker: { color: colours[state] }, width: 0.8 * 86400000,
  }));
  // Plotly dates have no time zone: half a day before the first day to half a day after the last.
  const dayBefore = new Date(Date.parse(data.since) - 86400000).toISOString().slice(0, 10);
  const element = document.getElementById("plot-runs");
  Plotly.newPlot(element, traces, {
    barmode: "stack", template: "plotly_white", height: 320, margin: { l: 40, r: 20, t: 10, b: 40 }, autosize: true,
    yaxis: { title: "runs", rangemode: "tozero" },
    xaxis: { type: "date", tickformat: "%b %d", range: [dayBefore + " 12:00", data.until + " 12:00"] },
  }, { responsive: true, displaylogo: false });
  let last = element.clientWidth;
  new ResizeObserver(() => {
    if (element.clientWidth !== last) { last = element.clientWidth; Plotly.Plots.resize(element); }
  }).observe(element);
})();
