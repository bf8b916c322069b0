"""A full disk is the operator's problem, not a bug: say so, with HTTP 507, instead of a 500.

When the data folder's disk (or the database's) fills up, any write fails: a file under
WINNOW_DATA_DIR with ``OSError(ENOSPC)``, SQLite with "database or disk is full", PostgreSQL with
SQLSTATE 53100 (disk_full). The transaction of the request is rolled back by the database, files
are written atomically (``fileio.atomic_write``), so nothing half-written stays; the user learns
that nothing was changed and why, on a page or as the API's JSON error shape.
"""

from __future__ import annotations

import errno
import logging
import shutil

from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import render

log = logging.getLogger(__name__)

MESSAGE = "The server's storage is full, so nothing was changed. Ask the administrator to free disk space, then try again."
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_FULL_TEXTS = ("database or disk is full", "no space left on device", "could not extend file")


def is_storage_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) says a disk or quota is full."""
    seen = 0
    while exc is not None and seen < 10:  # follow __cause__ / __context__ a bounded way
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if getattr(exc, "sqlstate", None) == "53100" or getattr(exc, "pgcode", None) == "53100":
            return True
        # a database's message, or shutil.copytree's Error (a list of messages, errno lost)
        if isinstance(exc, (DatabaseError, shutil.Error)) and any(text in str(exc).lower() for text in _FULL_TEXTS):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class StorageFullMiddleware:
    """Answers 507 with a clear message when a view failed because storage is full."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_storage_full(exception):
            return None
        log.error("storage full during %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": MESSAGE}, status=507)
        return render(request, "507.html", {"message": MESSAGE}, status=507)
