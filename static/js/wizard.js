// Method step: the strategy checkboxes apply to "strategies" only; show them when it is chosen.
(function () {
  const radios = document.querySelectorAll("input[name=method]");
  if (!radios.length) return;
  const boxes = ["use_diversity", "use_scores", "balance_classes"].map((n) => document.getElementById("field-" + n));
  function update() {
    const chosen = document.querySelector("input[name=method]:checked");
    const show = chosen && chosen.value === "strategies";
    boxes.forEach((box) => { if (box) box.hidden = !show; });
  }
  radios.forEach((radio) => radio.addEventListener("change", update));
  update();
})();
