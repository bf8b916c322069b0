"""REST API views. Thin: parse the request, call the same service or selector as the pages,
serialize. Someone else's dataset or run does not exist (the selectors 404 it)."""

from __future__ import annotations

import io
import json
import zipfile

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from selection_engine.errors import InputError
from selection_engine.sources import safe_relpath

from ..datasets import selectors as dataset_selectors
from ..datasets import services as dataset_services
from ..datasets import tags as tag_service
from ..datasets.models import Dataset, Tag
from ..datasets.uploads import receive_upload
from ..gallery import selectors as gallery
from ..gallery import services as gallery_services
from ..runs import jobs
from ..runs import selectors as run_selectors
from ..runs import services as run_services
from ..runs.artifacts import artifact_response, artifacts_of
from ..runs.models import Run
from ..validation import MAX_ID, id_param, text_param
from . import serializers as s

MAX_PAGE_SIZE = 1000
ERROR = s.ErrorSerializer


class AnyContentNegotiation(BaseContentNegotiation):
    """A download answers with the file's own type, whatever the client's Accept header says."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _pk(value) -> int:
    """An id from the URL; anything that cannot be one is simply not found."""
    try:
        pk = int(str(value))
    except ValueError:
        raise NotFound("Not found.") from None
    if not 0 < pk <= MAX_ID:
        raise NotFound("Not found.")
    return pk


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = MAX_PAGE_SIZE

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_ID // 2)


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
        dataset_services.save_dataset(dataset, changed)
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
class DatasetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = s.DatasetSerializer
    queryset = Dataset.objects.none()  # for the schema; get_queryset is the user's
    lookup_value_regex = "[^/]+"  # anything; a malformed id is a JSON 404 from _pk
    pagination_class = Pagination

    def get_queryset(self):
        return dataset_selectors.datasets_of(self.request.user).prefetch_related("tasks")

    def get_object(self) -> Dataset:
        return dataset_selectors.dataset_of(self.request.user, _pk(self.kwargs["pk"]))

    def perform_create(self, serializer):
        data = serializer.validated_data
        dataset = Dataset(owner=self.request.user, name=data["name"], description=data.get("description", ""))
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

    @extend_schema(summary="Recent uploads and their validation reports", tags=["uploads"],
                   responses={200: s.UploadResponseSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def uploads(self, request, pk=None):
        dataset = self.get_object()
        return Response(s.UploadResponseSerializer(dataset.uploads.all()[:50], many=True).data)

    @extend_schema(
        summary="Upload predictions or metadata (a zip, or files as JSON)", tags=["uploads"],
        description=(
            "Either a multipart upload of a zip (field `file`: a `.lightly` folder, its inside, or task folders), "
            "or a JSON body `{\"files\": {\".lightly/predictions/<task>/<image>.json\": {...}, ...}}`. Every file is "
            "validated by the engine against the datasource's images; the upload is all or nothing. "
            "201 with the report when accepted, 400 with the report (`errors`: file → problem) when rejected."
        ),
        request={"multipart/form-data": s.UploadZipSerializer, "application/json": s.UploadFilesSerializer},
        responses={201: s.UploadResponseSerializer, 400: s.UploadRejectedSerializer},
    )
    @uploads.mapping.post
    def upload(self, request, pk=None):
        dataset = self.get_object()
        if "file" in request.FILES:
            archive = request.FILES["file"]
        else:
            files = s.UploadFilesSerializer(data=request.data)
            files.is_valid(raise_exception=True)
            archive = _zip_of(files.validated_data["files"])
        record = receive_upload(dataset, request.user, archive)
        body = s.UploadResponseSerializer(record).data
        if record.accepted:
            return Response(body, status=status.HTTP_201_CREATED)
        errors = {row["file"]: row["message"] for row in record.problems}
        return Response({"detail": record.summary, "errors": errors, **body}, status=status.HTTP_400_BAD_REQUEST)


    @extend_schema(summary="The dataset's tags", tags=["tags"], responses={200: s.TagSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def tags(self, request, pk=None):
        return Response(s.TagSerializer(self.get_object().tags.all(), many=True).data)

    @extend_schema(
        summary="Tag images: a list of filenames, or every sample of a run matching gallery filters", tags=["tags"],
        request=s.TagCreateSerializer, responses={201: s.TagSerializer},
    )
    @tags.mapping.post
    def create_tag(self, request, pk=None):
        dataset = self.get_object()
        body = s.TagCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            if "run" in data:
                run = run_selectors.run_of(request.user, data["run"])
                if run.dataset_id != dataset.pk or run.state != Run.COMPLETED:
                    raise ValidationError({"run": "must be a completed run of this dataset"})
                tag = gallery_services.tag_view(run, gallery.GalleryQuery.from_params(data.get("filters", {}), run), data["name"])
            else:
                names = [safe_relpath(name, "filenames") for name in data["filenames"]]
                tag = tag_service.create_tag(dataset, data["name"], names)
        except DjangoValidationError as exc:
            raise ValidationError({k: " ".join(v) for k, v in exc.message_dict.items()}) from None
        except gallery.QueryError as exc:
            raise ValidationError({"filters": str(exc)}) from None
        except InputError as exc:
            raise ValidationError({"filenames": str(exc)}) from None
        return Response(s.TagSerializer(tag).data, status=status.HTTP_201_CREATED)

    def _tag(self, tag_id) -> Tag:
        return get_object_or_404(Tag, pk=_pk(tag_id), dataset=self.get_object())

    @extend_schema(summary="Delete a tag (the images are not touched)", tags=["tags"], request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"tags/(?P<tag_id>[^/]+)")
    def delete_tag(self, request, pk=None, tag_id=None):
        self._tag(tag_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Export a tag's filenames as CSV, JSON or a plain list", tags=["tags"],
        parameters=[OpenApiParameter("file_format", OpenApiTypes.STR, enum=list(tag_service.EXPORT_FORMATS),
                                     description="csv (one column with a header), json, or txt (one filename per line); default json")],
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="the export")},
    )
    @action(detail=True, methods=["get"], url_path=r"tags/(?P<tag_id>[^/]+)/export",
            content_negotiation_class=AnyContentNegotiation)
    def export_tag(self, request, pk=None, tag_id=None):
        tag = self._tag(tag_id)
        fmt = request.query_params.get("file_format", "json")
        if fmt not in tag_service.EXPORT_FORMATS:
            raise ValidationError({"file_format": f"must be one of {', '.join(tag_service.EXPORT_FORMATS)}"})
        return tag_service.export_response(tag, fmt)


def _zip_of(files: dict) -> SimpleUploadedFile:
    """The JSON files as an in-memory zip, so they take the zip's path through validation."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            try:
                archive.writestr(str(name), json.dumps(content, indent=1))
            except (ValueError, UnicodeEncodeError) as exc:
                raise ValidationError({f"files.{name}": f"cannot be stored: {exc}"}) from None
    return SimpleUploadedFile("files.json.zip", buffer.getvalue(), content_type="application/zip")


SAMPLE_FILTERS = [
    OpenApiParameter("selected", OpenApiTypes.BOOL, description="true: the selection; false: the removed samples; absent: all"),
    OpenApiParameter("score_min", OpenApiTypes.NUMBER, description="primary score at least this"),
    OpenApiParameter("score_max", OpenApiTypes.NUMBER, description="primary score at most this"),
    OpenApiParameter("class", OpenApiTypes.STR, description="samples predicted to show this class (primary task)"),
    OpenApiParameter("sort", OpenApiTypes.STR, description="score, rank, filename or meta:<metadata key>"),
    OpenApiParameter("order", OpenApiTypes.STR, enum=["asc", "desc"]),
]
PAGE_PARAMETERS = [
    OpenApiParameter("after", OpenApiTypes.STR, description="cursor: the page after this one (from `next`)"),
    OpenApiParameter("before", OpenApiTypes.STR, description="cursor: the page before this one (from `previous`)"),
    OpenApiParameter("page_size", OpenApiTypes.INT, description=f"samples per page (1 to {MAX_PAGE_SIZE}, default 100)"),
]


def _page_size(request) -> int:
    size = id_param(request.query_params, "page_size", f"a whole number from 1 to {MAX_PAGE_SIZE}") or 100
    if size > MAX_PAGE_SIZE:
        raise ValidationError({"page_size": f"must be between 1 and {MAX_PAGE_SIZE}"})
    return size


def _bool(request, name: str) -> bool | None:
    text = (request.query_params.get(name) or "").strip().lower()
    if not text:
        return None
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValidationError({name: f"{text!r} is not true or false"})


@extend_schema_view(
    list=extend_schema(summary="Your runs, newest first", tags=["runs"], parameters=[
        OpenApiParameter("dataset", OpenApiTypes.INT, description="only runs of this dataset"),
        OpenApiParameter("state", OpenApiTypes.STR, enum=[state for state, _ in Run.STATES]),
    ]),
    retrieve=extend_schema(summary="A run: state, stage, progress, log tail, configs", tags=["runs"]),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.RunSerializer
    queryset = Run.objects.none()
    lookup_value_regex = "[^/]+"
    pagination_class = Pagination

    def get_queryset(self):
        run_services.fail_stale_runs()
        runs = run_selectors.runs_of(self.request.user)
        if self.action == "list":
            params = self.request.query_params
            dataset = id_param(params, "dataset", "a dataset id")
            if dataset is not None:
                runs = runs.filter(dataset_id=dataset)
            state = text_param(params, "state")
            if state:
                if state not in dict(Run.STATES):
                    raise ValidationError({"state": f"must be one of {', '.join(dict(Run.STATES))}"})
                runs = runs.filter(state=state)
        return runs

    def get_object(self) -> Run:
        if self.action == "retrieve":
            run_services.fail_stale_runs()
        return run_selectors.run_of(self.request.user, _pk(self.kwargs["pk"]))

    @extend_schema(
        summary="Schedule a run (the worker's schedule_compute_worker_run)", tags=["runs"],
        request=s.RunCreateSerializer, responses={201: s.RunSerializer},
        description=(
            "The three documents as written for the Lightly worker (SPEC §3). They are validated by the engine; "
            "a bad key is a 400 whose `errors` name it, e.g. "
            "`{\"stoping_condition\": \"unknown key — did you mean stopping_condition.n_samples?\"}`."
        ),
    )
    def create(self, request):
        body = s.RunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dataset = dataset_selectors.datasets_of(request.user).filter(pk=min(max(data["dataset"], 0), MAX_ID)).first()
        if dataset is None:
            raise ValidationError({"dataset": f"you have no dataset {data['dataset']}"})
        run = run_services.schedule_run(
            request.user, dataset, data.get("worker_config"), data.get("lightly_config"), data.get("selection_config")
        )
        return Response(s.RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Cancel a run (queued: at once; running: at its next progress step)", tags=["runs"],
                   request=None, responses={200: s.CancelSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        message = jobs.cancel(run)
        run.refresh_from_db()
        return Response({"detail": message, "run": s.RunSerializer(run).data})

    @extend_schema(summary="Schedule a new run with the same configs", tags=["runs"], request=None,
                   responses={201: s.RunSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        new = run_services.rerun(self.get_object())
        return Response(s.RunSerializer(new).data, status=status.HTTP_201_CREATED)

    def _page(self, request, run: Run, params: dict, row_serializer) -> Response:
        size = _page_size(request)
        query = gallery.GalleryQuery.from_params(params, run)
        page = gallery.page(run, query, size=size)
        base = request.build_absolute_uri(request.path)
        keep = {k: v for k, v in request.query_params.items() if k not in ("after", "before")}

        def link(cursor_name: str, cursor: str) -> str | None:
            if not cursor:
                return None
            from urllib.parse import urlencode

            return f"{base}?{urlencode({**keep, cursor_name: cursor})}"

        return Response({
            "count": page.count,
            "next": link("after", page.next_cursor),
            "previous": link("before", page.prev_cursor),
            "results": row_serializer(page.samples, many=True).data,
        })

    @extend_schema(
        summary="The run's selection, by rank, with every score", tags=["results"],
        parameters=PAGE_PARAMETERS, responses={200: s.SelectionPageSerializer},
        description="One row per selected sample, like data/selected_samples.csv: `filenames`, `rank`, the primary "
                    "`score`, and every score column of the sample. Follow `next` until it is null.",
    )
    @action(detail=True, methods=["get"])
    def selection(self, request, pk=None):
        run = self.get_object()
        params = {"tab": "selected", "sort": "rank", "order": "asc",
                  "after": request.query_params.get("after", ""), "before": request.query_params.get("before", "")}
        return self._page(request, run, params, s.SelectionRowSerializer)

    @extend_schema(
        summary="The run's samples (selected and removed) with scores, filtered and sorted", tags=["results"],
        parameters=SAMPLE_FILTERS + PAGE_PARAMETERS, responses={200: s.SamplePageSerializer},
    )
    @action(detail=True, methods=["get"])
    def samples(self, request, pk=None):
        run = self.get_object()
        selected = _bool(request, "selected")
        params = {k: request.query_params.get(k, "") for k in ("score_min", "score_max", "class", "sort", "order", "after", "before")}
        params["tab"] = {True: "selected", False: "removed", None: "all"}[selected]
        return self._page(request, run, params, s.RunSampleSerializer)

    @extend_schema(summary="The files the run wrote (report, CSVs, log, ...)", tags=["results"],
                   responses={200: s.ArtifactSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def artifacts(self, request, pk=None):
        run = self.get_object()
        return Response([
            {"name": name, "size": size, "url": reverse("api:run-artifact", kwargs={"pk": run.pk, "name": name}, request=request)}
            for name, size in artifacts_of(run)
        ])


class ArtifactDownload(APIView):
    content_negotiation_class = AnyContentNegotiation

    @extend_schema(
        summary="Download one file of the run directory", tags=["results"], operation_id="runs_artifact_download",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="the run"),
                    OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, description="e.g. report.pdf, data/selected_samples.csv")],
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="the file")},
    )
    def get(self, request, pk, name: str):
        return artifact_response(run_selectors.run_of(request.user, _pk(pk)), name, in_place=False)


class Me(APIView):
    @extend_schema(summary="Who the token or session belongs to", tags=["account"], responses={200: s.UserSerializer})
    def get(self, request):
        return Response({"id": request.user.pk, "username": request.user.get_username()})


@csrf_exempt  # a JSON 404 for every method; there is nothing here to protect
def not_found(request, *args, **kwargs):
    """Any other path under /api/v1/: a JSON 404, not the site's HTML page."""
    from django.http import JsonResponse

    return JsonResponse({"detail": "No such API endpoint; see /api/docs/."}, status=404)
