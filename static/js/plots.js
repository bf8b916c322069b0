// Draws the run's plotly figures (built server-side) and links the embedding map to the samples.
// Every plot takes its card's width: the layout has no width of its own, and a ResizeObserver
// redraws a plot whenever its box changes (a scrollbar appearing as the page grows, a window
// resize), so no plot overflows its card or stays at the width it had before the page settled.
(function () {
  const data = JSON.parse(document.getElementById("plot-data").textContent);
  const config = { responsive: true, displaylogo: false };

  function plot(element, figure) {
    const layout = Object.assign({}, figure.layout, { autosize: true });
    delete layout.width;
    Plotly.newPlot(element, figure.data, layout, config);
    let last = element.clientWidth;
    new ResizeObserver(() => {
      if (element.clientWidth !== last) { last = element.clientWidth; Plotly.Plots.resize(element); }
    }).observe(element);
  }
  function draw(element, figure) {
    if (!figure) { element.closest(".card").hidden = true; return null; }
    return () => plot(element, figure);
  }
  function drawList(container, figures) {
    return (figures || []).map((figure) => {
      const card = document.createElement("section");
      card.className = "card";
      const div = document.createElement("div");
      div.className = "plot";
      card.appendChild(div);
      container.appendChild(card);
      return () => plot(div, figure);
    });
  }

  // Lay every card out first, then draw: each plot measures its card as the page will stay.
  const map = document.getElementById("plot-map");
  const pending = [
    draw(map, data.map),
    draw(document.getElementById("plot-distances"), data.distances),
    draw(document.getElementById("plot-loss"), data.loss),
    ...drawList(document.getElementById("plot-scores"), data.scores),
    ...drawList(document.getElementById("plot-classes"), data.classes),
  ].filter(Boolean);
  pending.forEach((drawNow) => drawNow());

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
