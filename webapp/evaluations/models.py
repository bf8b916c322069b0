"""An evaluation: the engine's simulated labeling loop on a dataset's labeled images.

Its own model rather than a kind of Run: a run selects samples (gallery, tags, re-run with three
config documents), an evaluation measures methods (labels, a protocol, a table and curves) and
has no samples. Both are a ``runs.jobs.BackgroundJob``, so they share its state and progress
fields, its moves between states, ``runs.progress.RunProgress`` and the artifact helpers of
``runs.selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..runs.jobs import BackgroundJob


class Evaluation(BackgroundJob):
    """``run_dir`` holds the engine's output (accuracy.csv, methods.csv, accuracy.png, evaluation.json)."""

    RETRY = "Start a new evaluation to try again."

    FOLDERS, CSV = "folders", "csv"
    LABEL_SOURCES = [(FOLDERS, "The image folders: one folder per class"), (CSV, "A labels CSV (filenames,labels)")]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evaluations")
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="evaluations")
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
    #: evaluation.json as the engine returned it: protocol, methods, per_round, recommendation, ...
    summary = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Evaluation {self.pk} on {self.dataset}"

    @property
    def recommendation(self) -> str:
        return ((self.summary or {}).get("recommendation") or {}).get("text", "")
