"""Reads of runs, always through the owner: someone else's run does not exist (404)."""

from __future__ import annotations

from pathlib import Path

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from selection_engine.errors import InputError
from selection_engine.sources import safe_relpath

from .. import datadir
from .jobs import BackgroundJob
from .models import Run


def runs_of(user) -> QuerySet[Run]:
    return Run.objects.filter(owner=user).select_related("dataset")


def run_of(user, pk: int) -> Run:
    return get_object_or_404(runs_of(user), pk=pk)


def checkpoints_of(user) -> list[tuple[str, str]]:
    """(path relative to the user's folder, label) of the checkpoints trained by the user's runs."""
    choices = []
    for run in runs_of(user).filter(state=Run.COMPLETED).exclude(run_dir=""):
        path = Path(run.run_dir) / "checkpoints" / "last.ckpt"
        if path.is_file():
            relative = path.relative_to(datadir.user_dir(user.pk)).as_posix()
            choices.append((relative, f"Run {run.pk} on {run.dataset.name} ({run.finished_at:%Y-%m-%d %H:%M})"))
    return choices


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
