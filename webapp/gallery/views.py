"""The gallery of a run, thumbnails, and plotly.js served from the installed package."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from PIL import UnidentifiedImageError

from selection_engine.errors import WinnowError

from ..datasets.selectors import dataset_of
from ..runs.selectors import run_of
from .thumbnails import thumbnail_file

PAGE_SIZE = 60


@login_required
def gallery(request, pk: int):
    run = run_of(request.user, pk)
    samples = run.samples.filter(selected=True)
    order = ["-score", "rank"] if run.primary_score else ["rank"]
    page = Paginator(samples.order_by(*order), PAGE_SIZE).get_page(request.GET.get("page"))
    for sample in page.object_list:  # scores to show: short names, no strategy contributions
        sample.shown = [
            (name.rsplit("/", 1)[-1], name, value) for name, value in sample.scores.items()
            if value is not None and not name.startswith("contribution/") and isinstance(value, (int, float))
        ]
    return render(request, "gallery/gallery.html", {"run": run, "page": page})


@login_required
@require_GET
@cache_control(private=True, max_age=7 * 24 * 3600)
def thumbnail(request, pk: int):
    dataset = dataset_of(request.user, pk)
    name = request.GET.get("name", "")
    try:
        path = thumbnail_file(dataset, name)
    except (WinnowError, OSError, UnidentifiedImageError, ValueError):
        raise Http404("No such image") from None
    return FileResponse(open(path, "rb"), content_type="image/jpeg")


PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@require_GET
@cache_control(public=True, max_age=30 * 24 * 3600)
def plotly_js(request):
    return FileResponse(open(PLOTLY_JS, "rb"), content_type="text/javascript")
