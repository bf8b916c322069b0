"""The django-q2 task of a run: load the Run, call the engine, record the outcome; and
``execute``, the worker's side of every background job (a run, an evaluation)."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

from selection_engine import pipeline
from selection_engine.errors import Canceled, WinnowError

from .. import datadir
from ..datasets.services import engine_source
from ..storage import is_storage_full
from . import jobs, services
from .models import Run
from .progress import RunProgress

log = logging.getLogger(__name__)

Result = TypeVar("Result")


@contextmanager
def child_processes_allowed():
    """Let this process start child processes for a while, even when it is a daemon.

    django-q2 runs tasks in daemonic worker processes, and Python refuses to let a daemon start
    children ("daemonic processes are not allowed to have children"), but the engine's torch
    DataLoader decodes images in worker processes. Those workers end with their loader, and die
    with this process if it is killed (torch's workers watch their parent).
    """
    process = multiprocessing.current_process()
    daemon = process.daemon
    if daemon:
        process.daemon = False
    try:
        yield
    finally:
        if daemon:
            process.daemon = True


def execute(job: jobs.BackgroundJob, work: Callable[[RunProgress], Result], complete: Callable[[Result], None]) -> str:
    """Do ``work`` on a running job with live progress, then ``complete`` it with the result
    (after the last progress write, so its final state stands). How it ended: "completed",
    "canceled", or "failed" with the engine's error as the user reads it (a bug: its summary,
    the traceback in the worker log)."""
    progress = RunProgress(job)
    try:
        with progress, child_processes_allowed():
            result = work(progress)
        complete(result)
        return "completed"
    except Canceled:
        jobs.finish(job, job.CANCELED, "Canceled by the user while running.")
        return "canceled"
    except WinnowError as exc:
        jobs.finish(job, job.FAILED, str(exc))
        return "failed"
    except Exception as exc:
        if is_storage_full(exc):  # the operator's to fix, not a bug: say what to do
            log.error("%s %s stopped: storage full (%s)", job._meta.verbose_name, job.pk, exc)
            jobs.finish(job, job.FAILED, f"The server's storage filled up ({exc}). Ask the administrator to free disk "
                                         "space, then re-run.")
            return "failed"
        # a bug: keep the traceback in the worker log, tell the user plainly
        log.exception("%s %s failed with an internal error", job._meta.verbose_name, job.pk)
        jobs.finish(job, job.FAILED, f"Internal error ({type(exc).__name__}: {exc}); the worker log has the details.")
        return "failed"


def execute_run(run_id: int) -> str:
    run = services.start_run(run_id)
    if run is None:
        return f"run {run_id} was not queued (canceled or already started); nothing to do"

    def work(progress: RunProgress):
        config = services.engine_config(run)
        Run.objects.filter(pk=run.pk).update(run_dir=str(datadir.run_dir(run.owner_id, run.pk)))
        return pipeline.run(
            config, on_progress=progress.update, show_bars=False, stream=progress.stream, source=engine_source(run.dataset)
        )

    return execute(run, work, lambda result: services.complete_run(run, run_dir=result.run_dir, n_selected=len(result.selected)))
