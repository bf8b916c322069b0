// Live progress of a run: polls the run's small JSON status until the run finishes.
(function () {
  const box = document.getElementById("status");
  if (!box || box.dataset.finished === "true") return;
  const url = box.dataset.statusUrl;
  const $ = (id) => document.getElementById(id);

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
    $("state").textContent = status.state;
    $("state").className = "state state-" + status.state;
    $("stage").textContent = status.stage;
    $("message").textContent = status.message;
    $("duration").textContent = status.duration_s === null ? "" : status.duration_s + " s";
    $("bar").style.width = (100 * status.fraction).toFixed(1) + "%";
    $("counts").textContent = status.total ? status.done + " / " + status.total : "";
    const log = $("log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = status.log_tail;
    if (atBottom) log.scrollTop = log.scrollHeight;
    if (status.error) { $("error").hidden = false; $("error").textContent = status.error; }
    if (status.finished) {
      window.location.reload();  // shows artifacts, the gallery button and the final state
      return;
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
