"""The page download of a run's selection for labeling tools (the formats: ``datasets/exports.py``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.urls import reverse

from ..datasets import exports
from ..datasets.views import export_download
from .models import Run
from .selectors import run_of


@login_required
def selection_export(request, pk: int, fmt: str):
    run = run_of(request.user, pk)
    if run.state != Run.COMPLETED:
        raise Http404("Only a completed run has a selection")
    return export_download(request, exports.of_selection(run), fmt, reverse("runs:detail", kwargs={"pk": pk}))
