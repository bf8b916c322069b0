"""How JSON documents enter the API: a request body, or a form field holding JSON.

Both go through the engine's ``parse_json``, so nesting deeper than 64 levels (a RecursionError
in whoever walks it) and NaN, Infinity or 1e999 (which no JSON column stores) are a 400 in the
API's shape, like any other bad input, never a 500.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, parsers, serializers, status

from selection_engine.errors import InputError
from selection_engine.formats.jsondoc import check_value, parse_json


def body_limit_detail(size: int | None = None) -> str:
    """Why a request body over the JSON limit was refused, and what to send instead."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    given = f" is {size:,} bytes;" if size else " is too large:"
    return (
        f"The request body{given} JSON bodies and form fields are limited to {limit:,} bytes "
        f"(WINNOW_MAX_JSON_MB). Upload predictions and metadata as a zip file instead "
        f"(multipart, up to {settings.MAX_UPLOAD_BYTES:,} bytes: WINNOW_MAX_UPLOAD_MB)."
    )


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


class JSONDocumentParser(parsers.JSONParser):
    """``application/json`` bodies, parsed by ``parse_json`` within WINNOW_MAX_JSON_MB."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(data) > limit:
            raise BodyTooLarge(body_limit_detail())
        try:
            return parse_json(data, "body")
        except InputError as exc:
            raise exceptions.ParseError(str(exc)) from None


class JSONDocumentField(serializers.JSONField):
    """A JSON document field: JSON text from a form is parsed by ``parse_json``, and a value
    already parsed (from a JSON body) is checked for its depth."""

    def to_internal_value(self, data):
        name = self.field_name or ""  # always set here: only a field bound to a serializer reads input
        try:
            if self.binary or getattr(data, "is_json_string", False):
                return parse_json(data if isinstance(data, bytes) else str(data), name)
            return check_value(super().to_internal_value(data), name)
        except InputError as exc:  # the key is the field's; keep the line where there is one
            line = exc.location.removeprefix(name).lstrip(", ")
            raise serializers.ValidationError(f"{line}: {exc.reason}" if line else exc.reason) from None
