"""Browsing a run: the gallery, one sample, the plots, tagging a view, comparing runs; plotly.js
served from the installed package."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from selection_engine.errors import WinnowError
from selection_engine.images import image_size

from ..datasets.models import Dataset, Tag
from ..datasets.selectors import datasets_of
from ..datasets.services import engine_source
from ..runs.models import Run, RunSample
from ..runs.results import nearest_neighbours, score_items
from ..runs.selectors import run_of, runs_of
from ..validation import QueryError, id_param
from . import plots, selectors, services, vendor
from .annotations import sample_annotations


def _finished_run(request, pk: int) -> Run:
    run = run_of(request.user, pk)
    if run.state != Run.COMPLETED:
        raise Http404("This run has no results: it is not completed.")
    return run


def _shown_scores(sample: RunSample) -> list[tuple[str, str, float]]:
    """(label, full name, value) of every score: the label drops the task ("uncertainty_margin")
    unless two scores of the sample would then read alike."""
    items = score_items(sample)
    short = [name.rsplit("/", 1)[-1] for name, _ in items]
    return [
        (label if short.count(label) == 1 else name, name, value)
        for label, (name, value) in zip(short, items)
    ]


def _scores_html(sample: RunSample) -> str:
    """A card's scores as ``<dt>``/``<dd>`` pairs; a long name may wrap after its underscores."""
    return format_html_join(
        "", '<dt title="{}">{}</dt><dd>{}</dd>',
        ((name, mark_safe("_<wbr>".join(escape(part) for part in label.split("_"))), f"{value:.3f}")  # escaped parts
         for label, name, value in _shown_scores(sample)),
    )


def _filename_html(name: str) -> str:
    """A card's file name: the folder (cut from the left when space runs out, the marks keep its
    slashes in place) then the file's own name, never cut; the full path on hover."""
    folder, _, base = name.rpartition("/")
    if not folder:
        return format_html('<span class="filename" title="{}"><span class="base">{}</span></span>', name, base)
    return format_html('<span class="filename" title="{}"><span class="folder">\u200e{}/\u200e</span>'
                       '<span class="base">{}</span></span>', name, folder, base)


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
        "cards": _cards(run, page.samples, query.params()),
        "classes": selectors.classes_of(run),
        "metadata_keys": keys,
        "tags": Tag.objects.filter(dataset=run.dataset_id),
        "sorts": _sort_choices(run, query, keys),
        "view": query.params(),
        "tab_links": [(tab, query.params(tab=tab, sort="", order="")) for tab in selectors.TABS],
        "filter_fields": list(QueryDict(query.params()).items()),
    })


def _cards(run: Run, samples: Sequence[RunSample], view: str) -> list[dict]:
    """What each grid cell shows, prepared here: a template loop per cell is the slow part.
    A card links to its sample with the gallery's view (``view``, a query string), for previous/next."""
    thumb = reverse("datasets:thumbnail", kwargs={"pk": run.dataset_id}) + "?name="
    detail = plots.sample_url_prefix(run)
    suffix = f"?{view}" if view else ""
    return [
        {
            "sample": s,
            "href": f"{detail}{s.pk}/{suffix}",
            "src": thumb + quote(s.filename),
            "filename": _filename_html(s.filename),
            "score": f"{s.score:.3f}" if s.score >= 0 else "",
            "scores": _scores_html(s),
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
    # Previous/next walk the gallery view the user came from (its query string); without one,
    # the tab the sample is in.
    params = request.GET or {"tab": "selected" if item.selected else "removed"}
    error, previous, following = "", None, None
    try:
        query = selectors.GalleryQuery.from_params(params, run)
        previous, following = selectors.around(run, query, item)
        view = query.params()
    except QueryError as exc:
        error, view = str(exc), ""
    return render(request, "gallery/sample.html", {
        "run": run,
        "sample": item,
        "view": view,
        "previous": previous,
        "next": following,
        "closest": _closest_selected(run, item),
        "metadata": [(key, _rounded(value)) for key, value in sorted(item.metadata.items())],
        # Small images are drawn larger than they are: pixelated, not blurred.
        "pixelated": bool(width and height and max(int(width), int(height)) < PIXELATED_BELOW),
        "width": width,
        "height": height,
        # Before sample.js sets it for the screen: about 12 px with the image ~560 px wide.
        "label_size": round(max(width or 1, height or 1) / 46, 2),
        "annotations": found,
        "scores": _shown_scores(item),
        "contributions": [(k.split("/", 1)[1], v) for k, v in item.scores.items() if k.startswith("contribution/")],
        "neighbours": [(by_row[row], distance) for row, distance in neighbours if row in by_row],
        "error": error,
    }, status=400 if error else 200)


#: Images smaller than this (longest side, pixels) are upscaled on the sample page.
PIXELATED_BELOW = 512


def _closest_selected(run: Run, sample: RunSample) -> tuple[RunSample | None, str, float | None] | None:
    """For a sample that was not selected: (the selected sample it was closest to, or None when
    that one is not in this run, its name, the distance), from ``removed_samples.csv``; None when
    the run names none (a selected sample, or one removed before selection)."""
    name = sample.scores.get("nearest_selected")
    if sample.selected or not isinstance(name, str) or not name:
        return None
    distance = sample.scores.get("distance")
    found = RunSample.objects.filter(run=run, filename=name, selected=True).first()
    return found, name, float(distance) if isinstance(distance, (int, float)) else None


def _rounded(value: Any) -> Any:
    """Metadata as a person reads it: 1234.5678 → 1,234.568; 0.000123456 → 0.000123; text as is."""
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.001:
            return f"{value:.3g}"
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value


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


#: Thumbnails shown per side on the compare page.
COMPARE_SHOWN = 120


@login_required
def compare(request):
    """Two completed runs of one dataset: overlap, and the samples only one of them selected.

    The dataset comes first (``dataset``, or run A's): the pickers list only its completed runs.
    A chosen id that is not one of the user's completed runs (or datasets) is a 404, as
    everywhere else; a run B of another dataset than A is said, not compared."""
    completed = runs_of(request.user).filter(state=Run.COMPLETED)
    datasets = list(
        datasets_of(request.user).filter(pk__in=completed.values("dataset_id")).order_by("name", "pk")
    )
    try:
        dataset_id, a_id, b_id = (id_param(request.GET, key, what) for key, what in (
            ("dataset", "a dataset id"), ("a", "a run id"), ("b", "a run id")))
    except QueryError as exc:
        return render(request, "gallery/compare.html", {"datasets": datasets, "error": str(exc)}, status=400)
    a, b = (get_object_or_404(completed, pk=pk) if pk else None for pk in (a_id, b_id))
    dataset: Dataset | None
    if dataset_id:
        dataset = get_object_or_404(datasets_of(request.user), pk=dataset_id)
    else:
        dataset = a.dataset if a else (datasets[0] if datasets else None)
    context: dict[str, Any] = {"datasets": datasets, "dataset": dataset, "a": a, "b": b,
                               "runs": completed.filter(dataset=dataset).order_by("-pk")[:200] if dataset else []}
    if a and b:
        if a.dataset_id != b.dataset_id:
            context["error"] = "Compare runs of the same dataset."
        else:
            picked_a = set(a.samples.filter(selected=True).values_list("filename", flat=True))
            picked_b = set(b.samples.filter(selected=True).values_list("filename", flat=True))
            union = picked_a | picked_b
            only_a, only_b = sorted(picked_a - picked_b), sorted(picked_b - picked_a)
            context.update(
                both=len(picked_a & picked_b), union=len(union),
                jaccard=len(picked_a & picked_b) / len(union) if union else 1.0,
                only_a=only_a, only_b=only_b,
                shown=COMPARE_SHOWN,
                sides=[(run, _compare_cards(run, names[:COMPARE_SHOWN]), names, side)
                       for run, names, side in ((a, only_a, "a"), (b, only_b, "b"))],
            )
    return render(request, "gallery/compare.html", context)


def _compare_cards(run: Run, names: list[str]) -> list[dict]:
    """Each name's sample in ``run``: its page (with the selected tab as the view), thumbnail and scores."""
    samples = {s.filename: s for s in run.samples.filter(filename__in=names)}
    thumb = reverse("datasets:thumbnail", kwargs={"pk": run.dataset_id}) + "?name="
    detail = plots.sample_url_prefix(run)
    return [
        {"sample": samples[name], "href": f"{detail}{samples[name].pk}/?tab=selected",
         "src": thumb + quote(name), "scores": _scores_html(samples[name]), "filename": _filename_html(name)}
        for name in names if name in samples
    ]


@require_GET
@cache_control(public=True, max_age=30 * 24 * 3600)
@vary_on_headers("Accept-Encoding")
def plotly_js(request):
    """plotly.min.js, gzip-compressed when the browser accepts it (a third of the bytes)."""
    gzipped = vendor.accepts_gzip(request.headers.get("Accept-Encoding", ""))
    path = vendor.gzipped_plotly_js() if gzipped else vendor.PLOTLY_JS
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    return FileResponse(open(path, "rb"), content_type="text/javascript", headers=headers)
