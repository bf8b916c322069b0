"""Runs and their results: /api/v1/runs/, a run's selection (and its exports), samples and artifacts."""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from ...datasets import exports
from ...datasets import selectors as dataset_selectors
from ...gallery import selectors as gallery
from ...runs import jobs
from ...runs import selectors as run_selectors
from ...runs import services as run_services
from ...runs.artifacts import artifact_response, artifacts_of
from ...runs.models import Run
from ...validation import MAX_ID, id_param, text_param
from .. import serializers as s
from .common import (
    EXPORT_RESPONSES,
    FILE_FORMAT,
    MAX_PAGE_SIZE,
    AnyContentNegotiation,
    Pagination,
    export_download,
    object_id,
)

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


class RunNotCompleted(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The run is not completed."


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
        return run_selectors.run_of(self.request.user, object_id(self.kwargs["pk"]))

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
            request.user, dataset, worker_config=data.get("worker_config"), lightly_config=data.get("lightly_config"),
            selection_config=data.get("selection_config"),
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
        summary="Export the run's selection: its filenames (CSV, JSON, list), a Label Studio tasks file, "
                "a COCO images list, or a zip of the images", tags=["results"],
        parameters=[FILE_FORMAT], responses={**EXPORT_RESPONSES, 409: OpenApiResponse(
            s.ErrorSerializer,
            description="the run is not completed (it has no selection yet), or, for a zip, the images cannot be read",
        )},
        description="The selection in rank order; the Label Studio and COCO files carry the run's scores and image sizes.",
    )
    @action(detail=True, methods=["get"], url_path="selection/export", content_negotiation_class=AnyContentNegotiation)
    def export_selection(self, request, pk=None):
        run = self.get_object()
        if run.state != Run.COMPLETED:
            raise RunNotCompleted(f"Run {run.pk} is {run.state}; only a completed run has a selection to export.")
        return export_download(request, exports.of_selection(run))

    @extend_schema(
        summary="The run's samples (selected and removed) with scores, filtered and sorted", tags=["results"],
        parameters=SAMPLE_FILTERS + PAGE_PARAMETERS, responses={200: s.SamplePageSerializer},
    )
    @action(detail=True, methods=["get"])
    def samples(self, request, pk=None):
        run = self.get_object()
        selected = _bool(request, "selected")
        keys = ("score_min", "score_max", "class", "sort", "order", "after", "before")
        params = {k: request.query_params.get(k, "") for k in keys}
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
                    OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     description="e.g. report.pdf, data/selected_samples.csv")],
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="the file")},
    )
    def get(self, request, pk, name: str):
        return artifact_response(run_selectors.run_of(request.user, object_id(pk)), name, in_place=False)
