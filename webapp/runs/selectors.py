"""Reads of runs, always through the owner: someone else's run does not exist (404)."""

from __future__ import annotations

from pathlib import Path

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .. import datadir
from . import jobs
from .models import Run


def runs_of(user) -> QuerySet[Run]:
    """The user's runs as they stand now (stale ones failed first: ``jobs.current``)."""
    return jobs.current(Run).filter(owner=user).select_related("dataset")


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
