// The wizard's steps adapt as the user answers, before anything is sent:
// - method: the strategy checkboxes apply to "strategies" only; shown when it is chosen;
// - task: only the chosen task's score names are offered (the map is on the task select);
// - embeddings: the training fields are disabled while training is off;
// - review: the documents' boxes grow with their text, so no line hides behind a scroll bar.
(function () {
  const radios = document.querySelectorAll("input[name=method]");
  if (radios.length) {
    const boxes = ["use_diversity", "use_scores", "balance_classes"].map((n) => document.getElementById("field-" + n));
    const update = () => {
      const chosen = document.querySelector("input[name=method]:checked");
      const show = chosen && chosen.value === "strategies";
      boxes.forEach((box) => { if (box) box.hidden = !show; });
    };
    radios.forEach((radio) => radio.addEventListener("change", update));
    update();
  }

  const task = document.getElementById("id_task_name");
  const score = document.getElementById("id_score_name");
  if (task && score && task.dataset.scores) {
    const scores = JSON.parse(task.dataset.scores);
    const offer = () => {
      const names = scores[task.value] || [];
      const keep = names.includes(score.value) ? score.value : names[0];
      score.replaceChildren(...names.map((name) => new Option(name, name, false, name === keep)));
      score.disabled = names.length === 0;
    };
    task.addEventListener("change", offer);
    offer();
  }

  const training = document.getElementById("id_enable_training");
  if (training) {
    const fields = document.querySelectorAll("[data-training]");
    const toggle = () => fields.forEach((field) => {
      field.disabled = !training.checked;
      field.closest(".field").classList.toggle("disabled", !training.checked);
    });
    training.addEventListener("change", toggle);
    toggle();
  }

  document.querySelectorAll("textarea.json").forEach((area) => {
    const grow = () => {
      area.style.height = "auto";
      area.style.height = area.scrollHeight + 2 + "px";
    };
    area.addEventListener("input", grow);
    grow();
  });
})();
