// Draws the evaluation's accuracy curves (plotly figures built server-side), one per embeddings.
(function () {
  const figures = JSON.parse(document.getElementById("evaluation-plots").textContent);
  const config = { responsive: true, displaylogo: false };
  document.querySelectorAll(".plot[data-index]").forEach((element) => {
    const figure = figures[Number(element.dataset.index)].figure;
    Plotly.newPlot(element, figure.data, figure.layout, config);
  });
})();
