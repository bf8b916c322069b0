"""An evaluation: the engine's simulated labeling loop on a dataset's labeled images.

Its own model rather than a kind of Run: a run selects samples (gallery, tags, re-run with three
config documents), an evaluation measures methods (labels, a protocol, a table and curves) and
has no samples. It keeps the Run's state and progress fields under the same names, so the run
machinery serves it unchanged: ``runs.progress.RunProgress``, ``runs.services.fail_stale``, the
artifact helpers of ``runs.selectors``.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from ..runs.models import Run


class Evaluation(models.Model):
    QUEUED, RUNNING, COMPLETED, FAILED, CANCELED = Run.QUEUED, Run.RUNNING, Run.COMPLETED, Run.FAILED, Run.CANCELED
    STATES, FINISHED = Run.STATES, Run.FINISHED
    FOLDERS, CSV = "folders", "csv"
    LABEL_SOURCES = [(FOLDERS, "The image folders: one folder per class"), (CSV, "A labels CSV (filenames,labels)")]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evaluations")
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="evaluations")
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED, db_index=True)
    # What is measured: where the labels come from, the embeddings compared, the methods, the protocol.
    labels_source = models.CharField(max_length=10, choices=LABEL_SOURCES, default=FOLDERS)
    #: The uploaded CSV's own name (shown); the validated copy is ``labels.csv`` in ``folder``.
    labels_name = models.CharField(max_length=255, blank=True)
    n_labeled = models.IntegerField(default=0)
    n_classes = models.IntegerField(default=0)
    #: evaluation.embeddings: "random" and optionally a checkpoint or CSV relative to the user's folder.
    embeddings = models.JSONField(default=list)
    methods = models.JSONField(default=list)
    initial = models.PositiveIntegerField(default=30)
    per_round = models.PositiveIntegerField(default=30)
    rounds = models.PositiveIntegerField(default=8)
    seeds = models.PositiveIntegerField(default=5)
    input_size = models.PositiveIntegerField(default=64)
    # Live progress, written by the worker (the same fields as a Run's).
    stage = models.CharField(max_length=40, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    progress_message = models.CharField(max_length=300, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    #: The engine's output directory (accuracy.csv, methods.csv, accuracy.png, evaluation.json).
    run_dir = models.CharField(max_length=1000, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    #: evaluation.json as the engine returned it: protocol, methods, per_round, recommendation, ...
    summary = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Evaluation {self.pk} on {self.dataset}"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def duration_s(self) -> float | None:
        if not self.started_at:
            return None
        from django.utils import timezone

        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()

    @property
    def fraction_done(self) -> float:
        if self.state == self.COMPLETED:
            return 1.0
        return self.progress_done / self.progress_total if self.progress_total else 0.0

    @property
    def directory(self) -> Path | None:
        return Path(self.run_dir) if self.run_dir else None

    @property
    def recommendation(self) -> str:
        return ((self.summary or {}).get("recommendation") or {}).get("text", "")
