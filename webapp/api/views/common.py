"""What every API view shares: ids from URLs, paging, downloads' content negotiation, the
exports of a tag or a run's selection, the caller's identity, the API root, and the JSON 404 for unknown paths."""

from __future__ import annotations

from django.urls import reverse as django_reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import routers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from selection_engine.errors import WinnowError

from ...datasets import exports
from ...validation import MAX_ID, text_param
from .. import serializers as s
from ..schema import endpoints

MAX_PAGE_SIZE = 1000


class AnyContentNegotiation(BaseContentNegotiation):
    """A download answers with the file's own type, whatever the client's Accept header says."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def object_id(value) -> int:
    """An id from the URL; anything that cannot be one is simply not found."""
    try:
        pk = int(str(value))
    except ValueError:
        raise NotFound("Not found.") from None
    if not 0 < pk <= MAX_ID:
        raise NotFound("Not found.")
    return pk


#: The ``file_format`` of an export (a tag's, a run's selection's), documented from the formats' home.
FILE_FORMAT = OpenApiParameter(
    "file_format", OpenApiTypes.STR, enum=list(exports.FORMATS),
    description="default json. " + "; ".join(f"{key}: {spec.description}" for key, spec in exports.FORMATS.items()),
)
EXPORT_RESPONSES = {
    (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="the export, as a file download"),
    409: OpenApiResponse(
        s.ErrorSerializer, description="zip only: the dataset's images cannot be read now (the reason is in `detail`)",
    ),
}


class DatasourceUnavailable(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The dataset's images cannot be read."


def export_download(request, images: exports.ImageSet):
    """``images`` in the request's ``file_format`` (default json); a 400 naming it when it is
    not a format, a 409 when a zip cannot open the datasource."""
    fmt = text_param(request.query_params, "file_format") or "json"
    if fmt not in exports.FORMATS:
        raise ValidationError({"file_format": f"must be one of {exports.format_choices()}"})
    try:
        return exports.export_response(images, fmt)
    except WinnowError as exc:
        raise DatasourceUnavailable(f"Cannot read the images of {images.dataset.name}: {exc}") from None


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = MAX_PAGE_SIZE

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_ID // 2)


class ApiRoot(routers.APIRootView):
    """Start here: links to your datasets and runs, your account, the OpenAPI schema and the
    docs, and every endpoint of the API with its methods."""

    # The endpoints come from the OpenAPI schema: a new one is listed without editing this view.

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        links = dict(super().get(request, *args, **kwargs).data)
        links["me"] = reverse("api:me", request=request)
        links["schema"] = request.build_absolute_uri(django_reverse("api-schema"))
        links["docs"] = request.build_absolute_uri(django_reverse("api-docs"))
        return Response({**links, "endpoints": endpoints()})


class Me(APIView):
    @extend_schema(summary="Who the token or session belongs to", tags=["account"], responses={200: s.UserSerializer})
    def get(self, request):
        return Response({"id": request.user.pk, "username": request.user.get_username()})


@csrf_exempt  # a JSON 404 for every method; there is nothing here to protect
def not_found(request, *args, **kwargs):
    """Any other path under /api/v1/: a JSON 404, not the site's HTML page."""
    from django.http import JsonResponse

    return JsonResponse({"detail": "No such API endpoint; see /api/docs/."}, status=404)
