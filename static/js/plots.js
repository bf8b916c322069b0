// Draws the run's plotly figures (built server-side) and links the embedding map to the samples.
(function () {
  const data = JSON.parse(document.getElementById("plot-data").textContent);
  const config = { responsive: true, displaylogo: false };

  function draw(element, figure) {
    if (!figure) { element.closest(".card").hidden = true; return; }
    Plotly.newPlot(element, figure.data, figure.layout, config);
  }
  function drawList(container, figures) {
    (figures || []).forEach((figure) => {
      const card = document.createElement("section");
      card.className = "card";
      const div = document.createElement("div");
      div.className = "plot";
      card.appendChild(div);
      container.appendChild(card);
      Plotly.newPlot(div, figure.data, figure.layout, config);
    });
  }

  const map = document.getElementById("plot-map");
  draw(map, data.map);
  draw(document.getElementById("plot-distances"), data.distances);
  draw(document.getElementById("plot-loss"), data.loss);
  drawList(document.getElementById("plot-scores"), data.scores);
  drawList(document.getElementById("plot-classes"), data.classes);

  if (!data.map) return;
  const thumb = document.getElementById("hover-thumb");
  map.on("plotly_hover", (event) => {
    const point = event.points[0];
    thumb.src = point.customdata[1];
    thumb.hidden = false;
    const e = event.event;
    thumb.style.left = (e.pageX + 16) + "px";
    thumb.style.top = (e.pageY + 16) + "px";
  });
  map.on("plotly_unhover", () => { thumb.hidden = true; });
  map.on("plotly_click", (event) => { window.location.href = event.points[0].customdata[0]; });
})();
