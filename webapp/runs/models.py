"""A run of the selection engine on a dataset, its samples for the gallery, and saved presets."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .jobs import BackgroundJob


class Run(BackgroundJob):
    """A selection run: its state and progress fields are a BackgroundJob's."""

    RETRY = "Re-run to try again."

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runs")
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="runs")
    # The three documents as submitted (the resolved config is in the run directory).
    worker_config = models.JSONField(default=dict, blank=True)
    lightly_config = models.JSONField(default=dict, blank=True)
    selection_config = models.JSONField(null=True, blank=True)
    n_selected = models.IntegerField(null=True, blank=True)
    #: The column of the run's scores that orders the gallery ("task/score"), "" if none.
    primary_score = models.CharField(max_length=300, blank=True)
    #: Filled at completion for the gallery's menus: {"metadata_keys": [...]}.
    facts = models.JSONField(default=dict, blank=True)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")

    def __str__(self) -> str:
        return f"Run {self.pk} on {self.dataset}"


class RunSample(models.Model):
    """One sample of a finished run: selected (with its rank) or not (with the reason)."""

    #: ``score`` of samples without the run's primary score (sorts last, filters out of ranges).
    NO_SCORE = -1.0

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="samples")
    filename = models.CharField(max_length=1000)
    selected = models.BooleanField(default=False)
    rank = models.IntegerField(null=True, blank=True)
    #: The run's primary score (see Run.primary_score), for sorting and filtering; NO_SCORE if none.
    score = models.FloatField(default=NO_SCORE)
    #: Every score and strategy contribution by column name.
    scores = models.JSONField(default=dict)
    reason = models.CharField(max_length=500, blank=True)
    #: Predicted classes of the run's primary task as "|cat|dog|" (for a LIKE filter), "" if none.
    classes = models.CharField(max_length=1000, blank=True)
    #: User metadata and computed ``lightly.*`` metadata by key.
    metadata = models.JSONField(default=dict)
    #: Row of the sample in the run's embeddings (gallery/embeddings.npy), -1 if it has none.
    row = models.IntegerField(default=-1)
    #: Position on the 2-D embedding map (PCA).
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)

    class Meta:
        # No default ordering: at 100,000 rows an implicit ORDER BY is a sort; views order explicitly.
        # Keyset pagination walks these indexes (SQLite and PostgreSQL append the primary key).
        indexes = [
            models.Index(fields=["run", "selected", "score", "id"], name="runsample_sel_score"),
            models.Index(fields=["run", "score", "id"], name="runsample_score"),
            models.Index(fields=["run", "selected", "filename", "id"], name="runsample_sel_filename"),
            models.Index(fields=["run", "filename", "id"], name="runsample_filename"),
            models.Index(fields=["run", "rank", "id"], name="runsample_rank"),
            models.Index(fields=["run", "row"], name="runsample_row"),
            # Covering for counts with a class filter: no table row is read.
            models.Index(fields=["run", "selected", "score", "classes"], name="runsample_sel_score_cls"),
            models.Index(fields=["run", "score", "classes"], name="runsample_score_cls"),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def reason_detail(self) -> str:
        """Why the sample was left out, when that says more than "not selected" (a card's badge
        or tab says that much already): corrupt, duplicate, labeled already, a THRESHOLD..."""
        from selection_engine.stages.samples import PLAIN_REASON

        return "" if self.selected or self.reason == PLAIN_REASON else self.reason

    @property
    def class_list(self) -> list[str]:
        return [c for c in self.classes.split("|") if c]


class Preset(models.Model):
    """A saved set of the three config documents, to start the wizard from."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presets")
    name = models.CharField(max_length=100)
    worker_config = models.JSONField(default=dict, blank=True)
    lightly_config = models.JSONField(default=dict, blank=True)
    selection_config = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_preset_name_per_owner")]

    def __str__(self) -> str:
        return self.name
