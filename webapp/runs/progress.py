"""The worker's side of live progress: the engine's callback and log stream, written to a
background job (``jobs.BackgroundJob``: a Run, an Evaluation).

Writes are throttled (one UPDATE per ``interval`` seconds, or at a stage change) so a run over a
million images does not hammer the database. A heartbeat thread keeps ``heartbeat_at`` fresh
during long steps without progress calls, so only a dead worker looks stale. Each write also
reads ``cancel_requested``; when set, the next progress call raises the engine's ``Canceled``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TextIO, cast

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from selection_engine.errors import Canceled

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
