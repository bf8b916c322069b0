"""One shape for every error the API returns: ``{"detail": message, "errors": {key: message}}``.

``errors`` appears for bad input and names the field (``name``, ``datasource.path``) or the
dotted config key (``stopping_condition.n_samples``) with the engine's message.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from selection_engine.errors import ConfigError

from ..gallery.selectors import QueryError


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value)
    return str(value)


def flatten(detail, prefix: str = "") -> dict[str, str]:
    """DRF's nested error detail as {dotted key: message}."""
    if isinstance(detail, dict):
        flat: dict[str, str] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(flatten(value, name))
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    flat.update(flatten(item, f"{name}[{i}]"))
            else:
                flat[name] = _text(value)
        return flat
    return {prefix or "non_field_errors": _text(detail)}


def bad_request(errors: dict[str, str], detail: str = "") -> Response:
    summary = detail or "; ".join(f"{key}: {message}" for key, message in errors.items())
    return Response({"detail": summary, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


def api_exception_handler(exc, context):
    if isinstance(exc, ConfigError):
        return bad_request({exc.key or "config": exc.reason}, str(exc))
    if isinstance(exc, QueryError):
        key, _, message = str(exc).partition(": ")
        return bad_request({key: message or str(exc)})
    if isinstance(exc, DjangoValidationError):
        errors = {k: _text(v) for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {"non_field_errors": _text(exc.messages)}
        return bad_request(errors)
    if isinstance(exc, exceptions.ValidationError):
        response = bad_request(flatten(exc.detail))
        return response
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response
