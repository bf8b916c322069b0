"""A background job on the django-q2 worker (a Run, an Evaluation): its state and live progress
fields, and the moves between states that every job makes the same way.

queued (``enqueue`` on commit) → running (``claim``: once, even when the task is delivered twice)
→ completed (each job's own service) | canceled (``cancel``; ``finish`` once the worker sees the
request) | failed (``finish``; ``fail_stale`` when the worker stopped sending heartbeats). While
running, ``progress.RunProgress`` writes the progress fields; ``status`` is what a page polls.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from pathlib import Path
from typing import ClassVar, Self

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)

#: Lines of the log shown on a job's page and in its JSON status.
LOG_TAIL_LINES = 400


class BackgroundJob(models.Model):
    QUEUED, RUNNING, COMPLETED, FAILED, CANCELED = "queued", "running", "completed", "failed", "canceled"
    STATES = [(s, s) for s in (QUEUED, RUNNING, COMPLETED, FAILED, CANCELED)]
    FINISHED = (COMPLETED, FAILED, CANCELED)
    #: How the message of a job whose worker vanished ends (``fail_stale``).
    RETRY = "Start it again to retry."

    state = models.CharField(max_length=10, choices=STATES, default=QUEUED, db_index=True)
    # Live progress, written by the worker (throttled).
    stage = models.CharField(max_length=40, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    progress_message = models.CharField(max_length=300, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    #: The engine's output directory (the files the job's page lists).
    run_dir = models.CharField(max_length=1000, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    # Declared for the type checker only: every concrete job model gets Django's default manager,
    # which the stubs do not give an abstract model.
    objects: ClassVar[models.Manager[Self]]

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def duration_s(self) -> float | None:
        if not self.started_at:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()

    @property
    def fraction_done(self) -> float:
        if self.state == self.COMPLETED:
            return 1.0
        return self.progress_done / self.progress_total if self.progress_total else 0.0

    @property
    def directory(self) -> Path | None:
        return Path(self.run_dir) if self.run_dir else None


def status(job: BackgroundJob) -> dict:
    """The live state a job's page shows and polls as JSON. ``fraction``: of the current stage;
    ``overall``: of the whole job (a job with stages sets it across them, ``progress.run_status``);
    ``stage_label``: the stage as the page names it."""
    return {
        "id": job.pk,
        "state": job.state,
        "stage": job.stage,
        "stage_label": job.stage,
        "done": job.progress_done,
        "total": job.progress_total,
        "fraction": round(job.fraction_done, 4),
        "overall": round(job.fraction_done, 4),
        "message": job.progress_message,
        "error": job.error,
        "duration_s": round(job.duration_s, 1) if job.duration_s is not None else None,
        "finished": job.is_finished,
        "log_tail": "\n".join(job.log.splitlines()[-LOG_TAIL_LINES:]),
    }


def enqueue(job: BackgroundJob, task: str) -> None:
    """Queue the django-q2 task ``task(job.pk)`` once the current transaction commits (so the
    worker finds the job), and keep its task id on the job."""
    model, noun = type(job), job._meta.verbose_name

    def send() -> None:
        from django_q.tasks import async_task

        task_id = async_task(task, job.pk, task_name=f"{noun}-{job.pk}", group=str(job._meta.verbose_name_plural))
        model.objects.filter(pk=job.pk, task_id="").update(task_id=str(task_id or "")[:64])

    transaction.on_commit(send)


def claim(model: type[BackgroundJob], pk: int) -> bool:
    """Move a queued job to running on this worker (atomically: a task delivered twice starts it once)."""
    now = timezone.now()
    return bool(model.objects.filter(pk=pk, state=model.QUEUED).update(
        state=model.RUNNING, started_at=now, heartbeat_at=now, worker_host=socket.gethostname()[:255], stage="starting"
    ))


def finish(job: BackgroundJob, state: str, error: str = "") -> None:
    type(job).objects.filter(pk=job.pk).update(state=state, error=error, finished_at=timezone.now())


def cancel(job: BackgroundJob) -> str:
    """Cancel a queued job at once; ask a running one to stop at its next progress step."""
    model, noun = type(job), job._meta.verbose_name
    if model.objects.filter(pk=job.pk, state=model.QUEUED).update(
        state=model.CANCELED, error="Canceled by the user before it started.", finished_at=timezone.now()
    ):
        return "Canceled."
    if model.objects.filter(pk=job.pk, state=model.RUNNING).update(cancel_requested=True):
        return f"Cancel requested: the {noun} stops at its next progress step."
    return f"The {noun} has already {job.state}."


def current(model: type[BackgroundJob]) -> QuerySet:
    """Every job of ``model`` as it stands now: the one read-time sweep. Running jobs whose worker
    stopped sending heartbeats are failed first, so no page, API answer or count shows a dead
    worker's job as running (django-q2's schedule sweeps too, for jobs nobody looks at)."""
    fail_stale(model)
    return model.objects.all()


def fail_stale(model: type[BackgroundJob]) -> int:
    """Fail the running jobs of ``model`` whose worker stopped sending heartbeats (killed,
    crashed, machine gone); the model's ``RETRY`` ends the message the user reads."""
    retry = model.RETRY
    cutoff = timezone.now() - timedelta(seconds=settings.STALE_RUN_SECONDS)
    failed = 0
    for job in model.objects.filter(state=model.RUNNING, heartbeat_at__lt=cutoff):
        try:  # pages sweep as they read: a sweep that cannot write (a full disk) must not fail the read
            with transaction.atomic():
                failed += model.objects.filter(pk=job.pk, state=model.RUNNING, heartbeat_at__lt=cutoff).update(
                    state=model.FAILED,
                    finished_at=timezone.now(),
                    error=(
                        f"The worker on {job.worker_host or 'an unknown host'} stopped responding during stage "
                        f"'{job.stage}' (last heartbeat {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC): it was stopped "
                        f"or crashed. {retry}"
                    ),
                )
        except DatabaseError as exc:
            log.warning("could not fail the stale %s %s yet: %s", model._meta.verbose_name, job.pk, exc)
            break
    return failed
