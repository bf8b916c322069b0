"""A dataset is a datasource (local folder or S3 bucket) plus the files Winnow keeps for it."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models


class Dataset(models.Model):
    LOCAL, S3 = "local", "s3"
    SOURCE_TYPES = [(LOCAL, "Local folder"), (S3, "S3-compatible bucket")]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    source_type = models.CharField(max_length=10, choices=SOURCE_TYPES, default=LOCAL)
    # One column per key of the engine's sources.DATASOURCE_KEYS.
    # local
    path = models.CharField(max_length=1000, blank=True, help_text="A folder under one of the allowed roots.")
    # s3
    bucket = models.CharField(max_length=255, blank=True)
    prefix = models.CharField(max_length=1000, blank=True)
    endpoint_url = models.CharField(max_length=500, blank=True, help_text="Empty for AWS; the URL of MinIO etc.")
    region = models.CharField(max_length=50, blank=True)
    access_key_id = models.CharField(max_length=255, blank=True)
    secret_access_key = models.CharField(max_length=255, blank=True)
    #: Images counted by the last connection test (None: never tested).
    image_count = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_dataset_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def datasource_spec(self) -> dict:
        """The engine's description of the datasource (``sources.source_from_spec``)."""
        from selection_engine.sources import DATASOURCE_KEYS

        return {"type": self.source_type, **{key: getattr(self, key) for key in DATASOURCE_KEYS[self.source_type]}}

    @property
    def location(self) -> str:
        if self.source_type == self.LOCAL:
            return self.path
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} ({self.endpoint_url})" if self.endpoint_url else where

    @property
    def uploads_dir(self) -> Path:
        """Holds ``.lightly/`` with uploaded predictions and metadata (never the datasource)."""
        from ..datadir import uploads_dir

        return uploads_dir(self.pk)


class PredictionTask(models.Model):
    """A prediction task found in the dataset's ``.lightly`` files (uploaded or in the datasource)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=255)
    task_type = models.CharField(max_length=50)
    categories = models.JSONField(default=list)
    n_files = models.IntegerField(default=0)
    #: Images of the datasource that have predictions of this task.
    coverage = models.IntegerField(default=0)
    n_images = models.IntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="unique_task_per_dataset")]

    def __str__(self) -> str:
        return self.name

    @property
    def score_names(self) -> tuple[str, ...]:
        from selection_engine.config.tasks import score_names

        return score_names(self.task_type)


class Upload(models.Model):
    """One predictions/metadata upload and the validation report of its files."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    accepted = models.BooleanField(default=False)
    summary = models.TextField()
    #: [{"file": ".lightly/predictions/t/a.json", "status": "ok" | "error", "message": ...}, ...]
    report = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({'accepted' if self.accepted else 'rejected'})"

    @property
    def problems(self) -> list[dict]:
        return [row for row in self.report if row["status"] == "error"]

    @property
    def valid_files(self) -> list[dict]:
        return [row for row in self.report if row["status"] == "ok"]


class Tag(models.Model):
    """A named set of a dataset's images: a run's selection, or a filtered gallery view."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    #: The run the tag was made from (its selection, or a filtered view of its samples).
    run = models.ForeignKey("runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="tags")
    #: How it was made, e.g. {"tab": "all", "class": "cat", "score_min": 0.5}; {} for a selection.
    query = models.JSONField(default=dict, blank=True)
    size = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="unique_tag_name_per_dataset")]

    def __str__(self) -> str:
        return self.name


class TagItem(models.Model):
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="items")
    filename = models.CharField(max_length=1000)

    class Meta:
        ordering = ["filename"]
        indexes = [models.Index(fields=["tag", "filename"], name="tagitem_tag_filename")]
