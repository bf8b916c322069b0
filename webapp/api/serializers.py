"""What the REST API reads and writes. Validation of substance stays in the services; these
classes only check shapes and translate between JSON and the models."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from selection_engine.sources import (
    DATASOURCE_KEYS,
    SECRET_KEYS,
    datasource_keys,
    required_key,
)

from ..datasets.models import Dataset, PredictionTask, Tag, Upload
from ..datasets.services import check_name_free
from ..runs.models import Run, RunSample
from ..validation import column_max_length
from .parsers import JSONDocumentField


class ErrorSerializer(serializers.Serializer):
    """Every error response: a message, and for bad input the problems by field or config key."""

    detail = serializers.CharField()
    # A declared field named like Serializer.errors: DRF's metaclass takes declared fields out of
    # the class attributes, so the property is not replaced; the stubs cannot know that.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(), required=False,
        help_text="Bad input: field or dotted config key → message(s), e.g. {\"stopping_condition.n_samples\": \"...\"}.",
    )


class DatasourceSerializer(serializers.Serializer):
    """``{"type": "local", "path": ...}`` or ``{"type": "s3", "bucket": ..., "prefix": ..., ...}``.

    The secret access key is write-only: it is never returned.
    """

    #: What the API says of a key beyond the model's help text.
    HELP = {
        "path": "local: a folder under one of the deployment's datasource roots",
        "endpoint_url": "s3: empty for AWS, else the URL of MinIO and the like",
    }

    def get_fields(self):
        """``type``, then one text field per key of the engine's ``DATASOURCE_KEYS``, as long as
        the model's column; the secrets are write-only."""
        fields: dict[str, serializers.Field] = {"type": serializers.ChoiceField(choices=list(DATASOURCE_KEYS))}
        for key in datasource_keys():
            fields[key] = serializers.CharField(
                required=False, allow_blank=True, max_length=column_max_length(Dataset, key),
                write_only=key in SECRET_KEYS, help_text=self.HELP.get(key),  # None: DRF's default
            )
        return fields

    def to_internal_value(self, data):
        if isinstance(data, dict) and data.get("type") in DATASOURCE_KEYS:
            unknown = sorted(set(data) - {"type", *DATASOURCE_KEYS[data["type"]]})
            if unknown:
                raise serializers.ValidationError(dict.fromkeys(unknown, f"unknown key for a {data['type']} datasource"))
        return super().to_internal_value(data)

    def validate(self, attrs):
        kind = attrs.get("type")
        if kind is None:
            raise serializers.ValidationError({"type": "is required: local or s3"})
        required = required_key(kind)
        if not (attrs.get(required) or "").strip():
            raise serializers.ValidationError({required: f"is required for a {kind} datasource"})
        return attrs

    def to_representation(self, dataset: Dataset) -> dict:
        return {key: value for key, value in dataset.datasource_spec().items() if key not in SECRET_KEYS}


class PredictionTaskSerializer(serializers.ModelSerializer):
    score_names = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = PredictionTask
        fields = ["name", "task_type", "categories", "score_names", "n_files", "coverage", "n_images"]


class DatasetSerializer(serializers.ModelSerializer):
    datasource = DatasourceSerializer(source="*")
    tasks = PredictionTaskSerializer(many=True, read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "description", "datasource", "image_count", "tasks", "created_at", "updated_at"]
        read_only_fields = ["image_count", "created_at", "updated_at"]

    def validate_name(self, name: str) -> str:
        try:
            return check_name_free(self.context["request"].user, name, dataset_pk=self.instance.pk if self.instance else None)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["name"]) from None


class ConnectionSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    image_count = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField(), help_text="a few image paths")
    error = serializers.CharField(allow_blank=True)


class UploadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Upload
        fields = ["id", "filename", "size", "accepted", "summary", "report", "created_at"]


class UploadReportRow(serializers.Serializer):
    file = serializers.CharField()
    status = serializers.ChoiceField(choices=["ok", "error"])
    message = serializers.CharField(allow_blank=True)


class UploadResponseSerializer(UploadSerializer):
    report = UploadReportRow(many=True)


class UploadRejectedSerializer(ErrorSerializer):
    """A rejected upload: the error (``errors``: file → problem) and, when the archive was read, its report."""

    id = serializers.IntegerField(required=False)
    filename = serializers.CharField(required=False)
    size = serializers.IntegerField(required=False)
    accepted = serializers.BooleanField(required=False)
    summary = serializers.CharField(required=False)
    report = UploadReportRow(many=True, required=False)
    created_at = serializers.DateTimeField(required=False)


class UploadZipSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="a zip of a .lightly folder, of its inside, or of task folders")


class UploadFilesSerializer(serializers.Serializer):
    files = serializers.DictField(
        child=serializers.JSONField(), allow_empty=False,
        help_text="path → JSON content, e.g. {\".lightly/predictions/cars/schema.json\": {...}, "
                  "\".lightly/predictions/cars/img/0001.json\": {...}}; the same layouts as in a zip",
    )


class RunCreateSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(help_text="the id of one of your datasets")
    worker_config = JSONDocumentField(required=False, allow_null=True, help_text="the Lightly worker config (SPEC §3)")
    lightly_config = JSONDocumentField(
        required=False, allow_null=True, help_text="lightly.* settings: loader, model, trainer, collate, ...",
    )
    selection_config = JSONDocumentField(required=False, allow_null=True, help_text="n_samples/proportion_samples and strategies")


class RunSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)
    fraction_done = serializers.FloatField(read_only=True)
    duration_s = serializers.FloatField(read_only=True, allow_null=True)
    finished = serializers.BooleanField(source="is_finished", read_only=True)
    log_tail = serializers.SerializerMethodField()
    worker_config = serializers.JSONField()
    lightly_config = serializers.JSONField()
    selection_config = serializers.JSONField(allow_null=True)

    #: Lines of the log in ``log_tail``.
    LOG_TAIL_LINES = 200

    class Meta:
        model = Run
        fields = [
            "id", "dataset", "state", "finished", "stage", "progress_done", "progress_total", "fraction_done",
            "progress_message", "error", "n_selected", "primary_score", "duration_s", "log_tail",
            "worker_config", "lightly_config", "selection_config", "rerun_of",
            "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    def get_log_tail(self, run: Run) -> str:
        return "\n".join(run.log.splitlines()[-self.LOG_TAIL_LINES:])


class RunSampleSerializer(serializers.ModelSerializer):
    filenames = serializers.CharField(source="filename", help_text="the image path relative to the datasource root")
    score = serializers.FloatField(allow_null=True, help_text="the run's primary score (null: none)")
    scores = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="every score ('task/score_name') and strategy contribution of the sample",
    )
    classes = serializers.ListField(source="class_list", child=serializers.CharField())

    class Meta:
        model = RunSample
        fields = ["filenames", "selected", "rank", "score", "scores", "reason", "classes", "metadata"]

    def to_representation(self, sample: RunSample) -> dict:
        data = super().to_representation(sample)
        if data["score"] == RunSample.NO_SCORE:
            data["score"] = None
        return data


class SelectionRowSerializer(serializers.Serializer):
    """One selected sample as a flat row: ``filenames``, ``rank``, ``score`` and every score column
    (``<task>/<score name>``, ``contribution/...``) as further keys, like selected_samples.csv."""

    filenames = serializers.CharField(source="filename")
    rank = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="the run's primary score (null: none)")

    def to_representation(self, sample: RunSample) -> dict:
        row = {key: value for key, value in sample.scores.items() if key not in ("filenames", "rank", "score")}
        score = None if sample.score == RunSample.NO_SCORE else sample.score
        return {"filenames": sample.filename, "rank": sample.rank, "score": score, **row}


class SelectionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="selected samples")
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, null on the last")
    previous = serializers.CharField(allow_null=True)
    results = SelectionRowSerializer(many=True)


class SamplePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="samples matching the filters")
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, null on the last")
    previous = serializers.CharField(allow_null=True)
    results = RunSampleSerializer(many=True)


class ArtifactSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="path inside the run directory, e.g. data/selected_samples.csv")
    size = serializers.IntegerField()
    url = serializers.CharField()


class CancelSerializer(serializers.Serializer):
    detail = serializers.CharField()
    run = RunSerializer()


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class TagSerializer(serializers.ModelSerializer):
    run: serializers.PrimaryKeyRelatedField[Run] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="the run it was made from",
    )
    query = serializers.DictField(read_only=True, help_text="the gallery filters it was made from; {} for a selection")

    class Meta:
        model = Tag
        fields = ["id", "name", "size", "run", "query", "created_at"]


class TagCreateSerializer(serializers.Serializer):
    """Either ``filenames``, or a completed ``run`` of the dataset and optional gallery ``filters``."""

    name = serializers.CharField(max_length=Tag._meta.get_field("name").max_length)
    filenames = serializers.ListField(child=serializers.CharField(max_length=1000), required=False, max_length=1_000_000)
    run = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="tag this run's samples matching `filters`",
    )
    filters = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False,
        help_text='gallery filters, e.g. {"tab": "all", "class": "cat", "score_min": "0.5"} (tab: selected|all|removed)',
    )

    def validate(self, data):
        if ("filenames" in data) == ("run" in data):
            raise serializers.ValidationError({"filenames": "Give either filenames or a run (with optional filters)."})
        if "filters" in data and "run" not in data:
            raise serializers.ValidationError({"filters": "Filters apply to a run's samples: give the run too."})
        return data
