"""Browsing a run: the gallery, one sample, the plots, tagging a view, comparing runs; plotly.js
served from the installed package."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import plotly
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from selection_engine.errors import WinnowError
from selection_engine.images import image_size

from ..datasets.models import Tag
from ..datasets.services import engine_source
from ..runs.models import Run, RunSample
from ..runs.results import nearest_neighbours
from ..runs.selectors import run_of, runs_of
from ..validation import QueryError, id_param
from . import plots, selectors, services
from .annotations import sample_annotations


def _finished_run(request, pk: int) -> Run:
    run = run_of(request.user, pk)
    if run.state != Run.COMPLETED:
        raise Http404("This run has no results: it is not completed.")
    return run


def _shown_scores(sample: RunSample) -> list[tuple[str, str, float]]:
    """(short name, full name, value) of the numeric scores, without strategy contributions."""
    return [
        (name.rsplit("/", 1)[-1], name, value) for name, value in sample.scores.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not name.startswith("contribution/")
    ]


@login_required
def gallery(request, pk: int):
    run = _finished_run(request, pk)
    try:
        query = selectors.GalleryQuery.from_params(request.GET, run)
        page = selectors.page(run, query)
    except QueryError as exc:
        messages.error(request, str(exc))
        return redirect(reverse("gallery", kwargs={"pk": pk}))
    keys = selectors.metadata_keys(run)
    return render(request, "gallery/gallery.html", {
        "run": run,
        "query": query,
        "page": page,
        "cards": _cards(run, page.samples),
        "classes": selectors.classes_of(run),
        "metadata_keys": keys,
        "tags": Tag.objects.filter(dataset=run.dataset_id),
        "sorts": _sort_choices(run, query, keys),
        "view": query.params(),
        "tab_links": [(tab, query.params(tab=tab, sort="", order="")) for tab in selectors.TABS],
        "filter_fields": list(QueryDict(query.params()).items()),
    })


def _cards(run: Run, samples: Sequence[RunSample]) -> list[dict]:
    """What each grid cell shows, prepared here: a template loop per cell is the slow part."""
    thumb = reverse("datasets:thumbnail", kwargs={"pk": run.dataset_id}) + "?name="
    detail = plots.sample_url_prefix(run)
    return [
        {
            "sample": s,
            "href": f"{detail}{s.pk}/",
            "src": thumb + quote(s.filename),
            "score": f"{s.score:.3f}" if s.score >= 0 else "",
            "scores": format_html_join(
                "", '<dt title="{}">{}</dt><dd>{}</dd>',
                ((name, label, f"{value:.3f}") for label, name, value in _shown_scores(s)[:4]),
            ),
        }
        for s in samples
    ]


def _sort_choices(run: Run, query, metadata_keys: list[str]) -> list[tuple[str, str]]:
    choices = []
    if run.primary_score:
        choices.append(("score", f"score ({run.primary_score})"))
    if query.tab == "selected":
        choices.append(("rank", "selection rank"))
    choices.append(("filename", "filename"))
    choices += [(f"meta:{key}", f"metadata: {key}") for key in metadata_keys]
    return choices


@login_required
def sample_detail(request, pk: int, sample: int):
    run = _finished_run(request, pk)
    item = get_object_or_404(RunSample, run=run, pk=sample)
    try:
        source = engine_source(run.dataset)
    except WinnowError:  # the datasource is gone or no longer allowed: show the rest
        source = None
    width, height = item.metadata.get("lightly.width"), item.metadata.get("lightly.height")
    if source is not None and not (width and height):
        try:
            width, height = image_size(source, item.filename)
        except (WinnowError, OSError):  # unreadable (e.g. too many pixels) or gone: no drawing
            width = height = None
    found = sample_annotations(source, item.filename, (int(width), int(height))) if source is not None and width else []
    neighbours = nearest_neighbours(run, item)
    by_row = {s.row: s for s in RunSample.objects.filter(run=run, row__in=[r for r, _ in neighbours])}
    return render(request, "gallery/sample.html", {
        "run": run,
        "sample": item,
        "width": width,
        "height": height,
        # Before sample.js sets it for the screen: about 12 px with the image ~560 px wide.
        "label_size": round(max(width or 1, height or 1) / 46, 2),
        "annotations": found,
        "scores": _shown_scores(item),
        "contributions": [(k.split("/", 1)[1], v) for k, v in item.scores.items() if k.startswith("contribution/")],
        "neighbours": [(by_row[row], distance) for row, distance in neighbours if row in by_row],
    })


@login_required
def run_plots(request, pk: int):
    run = _finished_run(request, pk)
    return render(request, "gallery/plots.html", {"run": run, "plots": plots.run_plots(run)})


@login_required
@require_POST
def tag_from_view(request, pk: int):
    """Tag every sample matching the gallery's current filters (not only the page shown)."""
    run = _finished_run(request, pk)
    try:
        query = selectors.GalleryQuery.from_params(request.POST, run)
        tag = services.tag_view(run, query, name=request.POST.get("name", ""))
    except (QueryError, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"Tagged {tag.size} images as {tag.name}.")
    return redirect(reverse("gallery", kwargs={"pk": pk}) + "?" + request.POST.get("view", ""))


@login_required
def compare(request):
    """Two completed runs of one dataset: overlap, and the samples only one of them selected.

    A chosen id that is not one of the user's completed runs is a 404, as everywhere else."""
    runs = runs_of(request.user).filter(state=Run.COMPLETED)
    try:
        chosen = [id_param(request.GET, key, "a run id") for key in ("a", "b")]
    except QueryError as exc:
        return render(request, "gallery/compare.html", {"runs": runs[:200], "error": str(exc)}, status=400)
    a, b = (get_object_or_404(runs, pk=pk) if pk else None for pk in chosen)
    context: dict[str, Any] = {"runs": runs[:200], "a": a, "b": b}
    if a and b:
        if a.dataset_id != b.dataset_id:
            context["error"] = "Compare runs of the same dataset."
        else:
            picked_a = set(a.samples.filter(selected=True).values_list("filename", flat=True))
            picked_b = set(b.samples.filter(selected=True).values_list("filename", flat=True))
            union = picked_a | picked_b
            context.update(
                both=len(picked_a & picked_b), union=len(union),
                jaccard=len(picked_a & picked_b) / len(union) if union else 1.0,
                only_a=sorted(picked_a - picked_b), only_b=sorted(picked_b - picked_a),
            )
    return render(request, "gallery/compare.html", context)


PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@require_GET
@cache_control(public=True, max_age=30 * 24 * 3600)
def plotly_js(request):
    return FileResponse(open(PLOTLY_JS, "rb"), content_type="text/javascript")
