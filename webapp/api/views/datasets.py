"""Datasets and their datasources: /api/v1/datasets/ and /api/v1/datasets/<id>/datasource/."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ...accounts.selectors import signed_in
from ...datasets import selectors as dataset_selectors
from ...datasets import services as dataset_services
from ...datasets.models import Dataset
from .. import serializers as s
from .common import Pagination, object_id
from .tags import TagActions
from .uploads import UploadActions


def _datasource_errors(exc: DjangoValidationError) -> ValidationError:
    """A service's field errors, with the datasource fields under ``datasource.``."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"datasource": exc.messages}
    mapped = {}
    for key, messages in errors.items():
        if key == "source_type":
            key = "type"
        if key in dataset_services.SOURCE_FIELDS or key == "type":
            key = f"datasource.{key}"
        mapped[key] = " ".join(messages)
    return ValidationError(mapped)


def _apply_datasource(dataset: Dataset, spec: dict) -> set[str]:
    """Copy a validated datasource dict onto the dataset (the service keeps a secret sent blank
    or left out: the API never returns it); the names of the fields that changed."""
    return dataset_services.update_datasource(dataset, {"source_type": spec["type"], **spec})


def _save(dataset: Dataset, changed: set[str] | None) -> Dataset:
    try:
        dataset_services.save_dataset(dataset, changed=changed)
    except DjangoValidationError as exc:
        raise _datasource_errors(exc) from None
    if changed is None or changed & set(dataset_services.SOURCE_FIELDS):
        dataset_services.test_connection(dataset)  # count the images, read the tasks (as the pages do)
    return dataset


@extend_schema_view(
    list=extend_schema(summary="Your datasets", tags=["datasets"]),
    create=extend_schema(summary="Create a dataset on a datasource", tags=["datasets"],
                         description="The datasource is checked (a local folder must lie under an allowed root; "
                                     "an S3 bucket must be listable) and its images counted."),
    retrieve=extend_schema(summary="One dataset with its prediction tasks", tags=["datasets"]),
    partial_update=extend_schema(summary="Rename, describe or re-point a dataset", tags=["datasets"]),
    destroy=extend_schema(summary="Delete a dataset, its uploads and runs (never the datasource's files)", tags=["datasets"]),
)
class DatasetViewSet(UploadActions, TagActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Datasets and their datasources; uploads (``UploadActions``) and tags (``TagActions``) are
    actions on a dataset's URL."""

    serializer_class = s.DatasetSerializer
    queryset = Dataset.objects.none()  # for the schema; get_queryset is the user's
    lookup_value_regex = "[^/]+"  # anything; a malformed id is a JSON 404 from _pk
    pagination_class = Pagination

    def get_queryset(self):
        return dataset_selectors.datasets_of(self.request.user).prefetch_related("tasks")

    def get_object(self) -> Dataset:
        return dataset_selectors.dataset_of(self.request.user, object_id(self.kwargs["pk"]))

    def perform_create(self, serializer):
        data = serializer.validated_data
        dataset = Dataset(owner=signed_in(self.request.user), name=data["name"], description=data.get("description", ""))
        _apply_datasource(dataset, data)
        serializer.instance = _save(dataset, None)

    def partial_update(self, request, pk=None):
        dataset = self.get_object()
        serializer = self.get_serializer(dataset, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changed = set()
        for key in ("name", "description"):
            if key in data and getattr(dataset, key) != data[key]:
                setattr(dataset, key, data[key])
                changed.add(key)
        if "type" in data:  # the datasource (flattened onto the serializer by source="*")
            changed |= _apply_datasource(dataset, data)
        _save(dataset, changed)
        return Response(self.get_serializer(dataset).data)

    def perform_destroy(self, instance):
        dataset_services.delete_dataset(instance)

    @extend_schema(summary="The dataset's datasource (the secret key is never returned)", tags=["datasources"],
                   responses={200: s.DatasourceSerializer})
    @action(detail=True, methods=["get"])
    def datasource(self, request, pk=None):
        return Response(s.DatasourceSerializer(self.get_object()).data)

    @extend_schema(summary="Point the dataset at another datasource", tags=["datasources"],
                   request=s.DatasourceSerializer, responses={200: s.DatasetSerializer})
    @datasource.mapping.put
    def replace_datasource(self, request, pk=None):
        dataset = self.get_object()
        spec = s.DatasourceSerializer(data=request.data)
        spec.is_valid(raise_exception=True)
        _save(dataset, _apply_datasource(dataset, spec.validated_data))
        return Response(self.get_serializer(dataset).data)

    @extend_schema(summary="Test the datasource: count its images and re-read the prediction tasks",
                   tags=["datasources"], request=None, responses={200: s.ConnectionSerializer})
    @action(detail=True, methods=["post"], url_path="datasource/test")
    def test_datasource(self, request, pk=None):
        report = dataset_services.test_connection(self.get_object())
        return Response(s.ConnectionSerializer(report).data)
