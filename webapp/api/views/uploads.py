"""A dataset's uploads of predictions and metadata: /api/v1/datasets/<id>/uploads/."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING

from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ...datasets.models import Dataset
from ...datasets.uploads import receive_upload
from .. import serializers as s


class UploadActions:
    """The upload actions of ``DatasetViewSet`` (``self.get_object()`` is the user's dataset)."""

    if TYPE_CHECKING:  # DatasetViewSet's, which this class is mixed into

        def get_object(self) -> Dataset: ...

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
