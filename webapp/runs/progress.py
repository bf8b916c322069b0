"""The worker's side of live progress: the engine's callback and log stream, written to a
background job (``jobs.BackgroundJob``: a Run, an Evaluation).

Writes are throttled (one UPDATE per ``interval`` seconds, or at a stage change) so a run over a
million images does not hammer the database. A heartbeat thread keeps ``heartbeat_at`` fresh
during long steps without progress calls, so only a dead worker looks stale. Each write also
reads ``cancel_requested``; when set, the next progress call raises the engine's ``Canceled``.

The page's side: :func:`run_status` turns the engine's stage and per-stage counts into one
overall fraction across the stages this run goes through, and the stage's name in words.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, TextIO, cast

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from selection_engine.config import resolve
from selection_engine.errors import Canceled, WinnowError
from selection_engine.stages import plan

from . import jobs
from .jobs import BackgroundJob

log = logging.getLogger(__name__)

#: The log kept on the Run (the full log is log.txt in the run directory).
MAX_LOG_CHARS = 1_000_000


class RunProgress:
    def __init__(self, run: BackgroundJob, interval: float = 1.0, heartbeat_every: float | None = None):
        self.run_id = run.pk
        self.model = type(run)
        self.interval = interval
        # Every 15 s, and at least three beats per stale period, so a deployment that lowers
        # WINNOW_STALE_RUN_SECONDS never has a live run declared dead during a long, silent step.
        self.heartbeat_every = heartbeat_every or min(15.0, settings.STALE_RUN_SECONDS / 3)
        self.state = {"stage": "", "progress_done": 0, "progress_total": 0, "progress_message": ""}
        self.log = ""
        self.cancel = False
        self._last_write = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # The engine's log stream. Its readers (print, the engine's Reporter) only write and flush,
        # all _LogStream implements; typed as the TextIO the engine's signatures ask for.
        self.stream = cast(TextIO, _LogStream(self))
        self._thread = threading.Thread(target=self._beat, name=f"run-{run.pk}-heartbeat", daemon=True)

    # The engine's ProgressCallback.
    def update(self, stage: str, done: int, total: int, message: str) -> None:
        new_stage = stage != self.state["stage"]
        self.state.update(stage=stage[:40], progress_done=done, progress_total=total, progress_message=message[:300])
        if new_stage or time.monotonic() - self._last_write >= self.interval:
            self.flush()
        if self.cancel:
            raise Canceled()

    def append_log(self, text: str) -> None:
        with self._lock:
            self.log = (self.log + text)[-MAX_LOG_CHARS:]

    def flush(self) -> None:
        with self._lock:
            self._last_write = time.monotonic()
            self.model.objects.filter(pk=self.run_id).update(log=self.log, heartbeat_at=timezone.now(), **self.state)
            self.cancel = bool(self.model.objects.filter(pk=self.run_id).values_list("cancel_requested", flat=True).first())

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.heartbeat_every):
                try:
                    self.flush()
                except DatabaseError as exc:  # a locked or restarting database: beat again later
                    log.warning("run %s: heartbeat not written (%s); retrying", self.run_id, exc)
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> RunProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()


class _LogStream:
    """A text stream for ``print``: lines go to the Run with the next throttled write."""

    def __init__(self, progress: RunProgress):
        self.progress = progress

    def write(self, text: str) -> int:
        self.progress.append_log(text)
        return len(text)

    def flush(self) -> None:
        pass


# -- the page's side: one bar across the stages ------------------------------------------------

#: Each of the engine's stages (``stages.plan.STAGES``) as the page names it, and its rough share
#: of a run's time. The shares only shape the overall bar; a stage the run skips counts for nothing.
STAGE_WORDS: dict[str, tuple[str, float]] = {
    "load": ("Reading the image list and predictions", 1),
    "image_pass": ("Checking, measuring and embedding the images on the Ray cluster", 6),
    "corruptness": ("Checking for corrupt images", 2),
    "duplicates": ("Looking for exact duplicates", 1),
    "training": ("Training the model on your images", 8),
    "embeddings": ("Computing image embeddings", 4),
    "scores": ("Scoring the predictions", 1),
    "metadata": ("Measuring sharpness, noise and size", 2),
    "selection": ("Selecting images", 1),
    "outputs": ("Writing the selection", 1),
    "dump": ("Copying the selected images", 1),
    "report": ("Writing the report", 2),
}
#: What the page says before the first stage and after the last.
STATE_WORDS = {"queued": "Waiting for a worker", "starting": "Starting", "done": "Done"}


def planned_stages(run: Any) -> list[str]:
    """The stages ``run`` goes through (the engine's own plan for its documents, with the keys
    the server decides; every stage when they no longer resolve). A web run always reads its
    dataset's images."""
    from .services import server_keys

    try:
        worker = resolve(server_keys(run.worker_config or {}), run.lightly_config, run.selection_config).worker
    except (WinnowError, TypeError, ValueError):
        return list(plan.STAGES)
    return plan.planned_stages(worker, reads_images=True)


def overall_fraction(stage: str, done: int, total: int, planned: list[str]) -> float:
    """How far a run at ``stage`` (``done`` of ``total`` in it) is across the ``planned`` stages, in [0, 1]."""
    shares = {name: share for name, (_label, share) in STAGE_WORDS.items()}
    if stage == "done":
        return 1.0
    if stage not in shares:  # queued, starting
        return 0.0
    order = list(plan.STAGES)
    position = order.index(stage)
    weight = sum(shares[name] for name in planned) + (0 if stage in planned else shares[stage])
    before = sum(shares[name] for name in planned if order.index(name) < position)
    within = min(done / total, 1.0) if total > 0 else 0.0
    return round(min((before + shares[stage] * within) / weight, 1.0), 4)


def stage_words(stage: str, state: str) -> str:
    """The stage as the run page names it (where a failed or canceled run stopped)."""
    if state == "queued":
        return STATE_WORDS["queued"]
    words = STAGE_WORDS.get(stage, ("", 0))[0] or STATE_WORDS.get(stage) or stage
    return f"Stopped at: {words}" if state in ("failed", "canceled") and words else words


def run_status(run: Any) -> dict:
    """The live state the run page shows and polls (``jobs.status``), with ``overall`` (one
    fraction across the run's stages), ``stage_label`` (the stage in words) and ``n_selected``."""
    status = jobs.status(run)
    if run.state == run.COMPLETED:
        overall = 1.0
    elif run.state == run.QUEUED:
        overall = 0.0
    else:
        overall = overall_fraction(run.stage, run.progress_done, run.progress_total, planned_stages(run))
    return {**status, "overall": overall, "stage_label": stage_words(run.stage, run.state), "n_selected": run.n_selected}
