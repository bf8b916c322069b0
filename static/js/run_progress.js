// Live progress of a run (or an evaluation): polls the job's small JSON status until it finishes.
// The page is rendered with the current state; the first poll goes out at once, so nothing shown
// is older than one request.
(function () {
  const box = document.getElementById("status");
  if (!box || box.dataset.finished === "true") return;
  const url = box.dataset.statusUrl;
  const $ = (id) => document.getElementById(id);
  // A stage can hold several counted steps (reading predictions, then metadata files), so the
  // overall figure may dip between them: the bar shows the furthest point reached.
  let furthest = parseFloat($("bar").style.width) / 100 || 0;

  function show(status) {
    const overall = status.finished ? status.overall : Math.max(furthest, status.overall);
    furthest = overall;
    const canceled = status.state === "canceled";
    $("state").textContent = status.state;
    $("state").className = "state state-" + status.state;
    $("stage").textContent = status.stage_label;
    $("message").textContent = canceled ? "" : status.message;
    $("duration").textContent = status.duration_s === null ? "" : status.duration_s + " s";
    $("bar").style.width = (100 * overall).toFixed(1) + "%";
    $("bar").parentElement.setAttribute("aria-valuenow", Math.round(100 * overall));
    $("counts").textContent = status.total && !status.finished ? "(" + status.done + " / " + status.total + ")" : "";
    const log = $("log");
    if (log) {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.textContent = status.log_tail;
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    $("canceled-note").hidden = !canceled;
    if (canceled) $("canceled-note").textContent = status.error || "Canceled.";
    $("error").hidden = !status.error || canceled;
    if (status.error && !canceled) $("error").textContent = status.error;
  }

  async function poll() {
    let status;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.status);
      status = await response.json();
    } catch (err) {
      setTimeout(poll, 3000);  // the server restarting is no reason to stop watching
      return;
    }
    show(status);
    if (status.finished) {
      window.location.reload();  // shows the headline, artifacts and the final state
      return;
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
