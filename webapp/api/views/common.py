"""What every API view shares: ids from URLs, paging, downloads' content negotiation, the
caller's identity, the API root, and the JSON 404 for unknown paths."""

from __future__ import annotations

from django.urls import reverse as django_reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import routers
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from ...validation import MAX_ID
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
