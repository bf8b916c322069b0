// Box labels on the sample page: a fixed size on screen whatever the image's size, and inside it.
// The SVG's units are image pixels, so sizes are divided by the current screen scale.
(function () {
  const svg = document.getElementById("annotated");
  if (!svg) return;
  const view = svg.viewBox.baseVal;

  function layout() {
    const scale = svg.getBoundingClientRect().width / view.width;
    if (!scale) return;
    svg.querySelectorAll("text.box-label").forEach((label) => {
      label.setAttribute("font-size", 12 / scale);
      label.setAttribute("stroke-width", 2.5 / scale);
      const x = parseFloat(label.dataset.x), y = parseFloat(label.dataset.y);
      label.setAttribute("x", x);
      label.setAttribute("y", y);
      label.setAttribute("dy", "-0.3em");
      const box = label.getBBox();
      if (box.y < view.y) label.setAttribute("dy", "1em");  // no room above the box: write inside it
      const overflow = box.x + box.width - (view.x + view.width);
      if (overflow > 0) label.setAttribute("x", Math.max(view.x, x - overflow));
    });
  }
  layout();
  window.addEventListener("resize", layout);
  const image = svg.querySelector("image");
  if (image) image.addEventListener("load", layout);
})();
