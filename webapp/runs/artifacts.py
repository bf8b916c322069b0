"""The files a background job (a run, an evaluation) wrote: listing them and handing one out.

One home for both the pages and the API: which files a user may fetch (nothing outside the job's
directory), and how each is served (text as UTF-8; a browser shows PDFs, images, text and JSON
in place, the API always offers a download).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.http import FileResponse, Http404

from selection_engine.errors import InputError
from selection_engine.sources import safe_relpath

from ..downloads import file_response
from .jobs import BackgroundJob

#: Suffixes a browser can show itself; the pages open these in place.
_SHOWN_IN_PLACE = (".pdf", ".png", ".jpg", ".txt", ".json")
#: Text formats served with their own type and UTF-8.
_TEXT_TYPES = {".csv": "text/csv", ".json": "application/json", ".txt": "text/plain"}


def artifacts_of(job: BackgroundJob) -> list[tuple[str, int]]:
    """(path relative to the job's directory, size in bytes) of every file the job (a run, an
    evaluation) wrote."""
    root = job.directory
    if root is None or not root.is_dir():
        return []
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    return sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in files)


def artifact_path(job: BackgroundJob, name: str) -> Path:
    """The file ``name`` of the job's directory; 404 for anything else (no escaping the root)."""
    root = job.directory
    try:
        relative = safe_relpath(name, "artifact")
    except InputError:
        raise Http404("No such artifact") from None
    if root is None:
        raise Http404("The run has no output yet")
    try:
        path = (root / relative).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            raise Http404("No such artifact")
    except OSError:  # e.g. a name longer than the system allows
        raise Http404("No such artifact") from None
    return path


def artifact_response(job: BackgroundJob, name: str, *, in_place: bool) -> FileResponse:
    """The file ``name`` of the job's directory, streamed; 404 for anything else. ``in_place``
    (the pages): shown in the browser where it can; otherwise (the API) always a download."""
    path = artifact_path(job, name)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or path.suffix in _TEXT_TYPES:
        content_type = _TEXT_TYPES.get(path.suffix, "text/plain") + "; charset=utf-8"
    return file_response(path, content_type, inline=in_place and path.suffix in _SHOWN_IN_PLACE)
