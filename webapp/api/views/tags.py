"""A dataset's tags: /api/v1/datasets/<id>/tags/, one tag's exports and delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from selection_engine.errors import InputError
from selection_engine.sources import safe_relpath

from ...datasets import exports
from ...datasets import tags as tag_service
from ...datasets.models import Dataset, Tag
from ...gallery import selectors as gallery
from ...gallery import services as gallery_services
from ...runs import selectors as run_selectors
from ...runs.models import Run
from ...validation import QueryError
from .. import serializers as s
from .common import EXPORT_RESPONSES, FILE_FORMAT, AnyContentNegotiation, export_download, object_id


class TagActions:
    """The tag actions of ``DatasetViewSet`` (``self.get_object()`` is the user's dataset; a tag of
    another dataset, the user's own or not, does not exist under it)."""

    if TYPE_CHECKING:  # DatasetViewSet's, which this class is mixed into

        def get_object(self) -> Dataset: ...

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
                query = gallery.GalleryQuery.from_params(data.get("filters", {}), run)
                tag = gallery_services.tag_view(run, query, name=data["name"])
            else:
                names = [safe_relpath(name, "filenames") for name in data["filenames"]]
                tag = tag_service.create_tag(dataset, data["name"], names)
        except DjangoValidationError as exc:
            raise ValidationError({k: " ".join(v) for k, v in exc.message_dict.items()}) from None
        except QueryError as exc:
            raise ValidationError({"filters": str(exc)}) from None
        except InputError as exc:
            raise ValidationError({"filenames": str(exc)}) from None
        return Response(s.TagSerializer(tag).data, status=status.HTTP_201_CREATED)

    def _tag(self, tag_id) -> Tag:
        return get_object_or_404(Tag, pk=object_id(tag_id), dataset=self.get_object())

    @extend_schema(summary="Delete a tag (the images are not touched)", tags=["tags"], request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"tags/(?P<tag_id>[^/]+)")
    def delete_tag(self, request, pk=None, tag_id=None):
        self._tag(tag_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Export a tag: its filenames (CSV, JSON, list), a Label Studio tasks file, a COCO images list, "
                "or a zip of the images", tags=["tags"],
        parameters=[FILE_FORMAT], responses=EXPORT_RESPONSES,
    )
    @action(detail=True, methods=["get"], url_path=r"tags/(?P<tag_id>[^/]+)/export",
            content_negotiation_class=AnyContentNegotiation)
    def export_tag(self, request, pk=None, tag_id=None):
        return export_download(request, exports.of_tag(self._tag(tag_id)))
