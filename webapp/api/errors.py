"""One shape for every error the API returns: ``{"detail": message, "errors": {key: message}}``.

``errors`` appears for bad input and names the field (``name``, ``datasource.path``), the dotted
config key (``stopping_condition.n_samples``) with the engine's message, or ``body`` when the
request body itself is not acceptable JSON. Errors Django answers before (or instead of) a view
on an ``/api/`` path come back in the same shape (:func:`bad_request_page`, :func:`server_error_page`).
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from selection_engine.errors import ConfigError

from ..validation import QueryError
from .parsers import body_limit_detail


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
        if hasattr(exc, "error_dict"):
            errors = {k: _text(v) for k, v in exc.message_dict.items()}
        else:
            errors = {"non_field_errors": _text(exc.messages)}
        return bad_request(errors)
    if isinstance(exc, exceptions.ValidationError):
        return bad_request(flatten(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return bad_request({"body": str(exc.detail)})
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, read by DRF
        detail = body_limit_detail(_content_length(context["request"]))
        return Response({"detail": detail}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response


def _content_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) or None
    except ValueError:
        return None


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request_page(request, exception=None):
    """``handler400``: on an ``/api/`` path, the API's JSON (a body over WINNOW_MAX_JSON_MB is a
    413, too many form fields a 400); elsewhere Django's page."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": body_limit_detail(_content_length(request))}, status=413)
    message = str(exception) if exception is not None and str(exception) else "Bad request."
    return JsonResponse({"detail": message, "errors": {"body": message}}, status=400)


def server_error_page(request):
    """``handler500``: on an ``/api/`` path, JSON; elsewhere the site's error page."""
    if not _is_api(request):
        return defaults.server_error(request)
    return JsonResponse({"detail": "Internal server error; it was logged on the server."}, status=500)
