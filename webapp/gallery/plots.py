"""The run's plots as plotly figures (JSON for plotly.js): embedding map, score histograms, class
balance, nearest-neighbour distances and the training loss.

Figures are built once per run and cached in ``gallery/plots-v2.json`` (a finished run never
changes). Large runs are down-sampled: at most MAX_POINTS markers per map trace, and
histograms are binned here, so a page stays light whatever the run's size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from django.urls import reverse
from plotly.utils import PlotlyJSONEncoder

from selection_engine.fileio import atomic_write

from ..runs.models import Run, RunSample

#: Versioned: a cache written by an older Winnow is drawn again, not shown as it was.
PLOTS_JSON = "gallery/plots-v2.json"
#: Markers per trace of the embedding map.
MAX_POINTS = 5000
BINS = 40
SELECTED, OTHERS = "#2f6fde", "#b8bfca"


def sample_url_prefix(run: Run) -> str:
    """``/runs/<run>/samples/``: a sample's page is this plus ``<id>/`` (built per point, not reversed)."""
    return reverse("sample", kwargs={"pk": run.pk, "sample": 0}).removesuffix("0/")


def _layout(title: str, **extra) -> dict:
    return {"title": title, "template": "plotly_white", "height": 380, "margin": dict(l=50, r=20, t=50, b=45), **extra}


def embedding_map(run: Run, seed: int = 0) -> dict | None:
    rows = np.array(list(RunSample.objects.filter(run=run, x__isnull=False).values_list("pk", "x", "y", "selected")), dtype=float)
    if len(rows) == 0:
        return None
    names = dict(RunSample.objects.filter(run=run, x__isnull=False).values_list("pk", "filename"))
    rng = np.random.default_rng(seed)
    thumb = reverse("datasets:thumbnail", kwargs={"pk": run.dataset_id}) + "?name="
    detail = sample_url_prefix(run)
    figure = go.Figure()
    total = {True: int(rows[:, 3].sum()), False: int((rows[:, 3] == 0).sum())}
    for selected, colour, label in ((False, OTHERS, "not selected"), (True, SELECTED, "selected")):
        part = rows[rows[:, 3] == selected]
        if len(part) > MAX_POINTS:
            part = part[rng.choice(len(part), MAX_POINTS, replace=False)]
        if len(part) == 0:
            continue
        pks = part[:, 0].astype(int)
        shown = f" (showing {len(part):,} of {total[selected]:,})" if len(part) < total[selected] else ""
        figure.add_trace(go.Scattergl(
            x=part[:, 1], y=part[:, 2], mode="markers", name=f"{label}{shown}",
            marker=dict(color=colour, size=7 if selected else 5, opacity=0.9 if selected else 0.5),
            text=[names[pk] for pk in pks],
            customdata=[[f"{detail}{pk}/", thumb + names[pk]] for pk in pks],
            hovertemplate="%{text}<extra></extra>",
        ))
    figure.update_layout(**_layout("Embedding map (PCA)", xaxis_title="PC 1", yaxis_title="PC 2", height=560))
    return figure.to_plotly_json()


def _histogram(title: str, x_title: str, groups: dict[str, np.ndarray], colours: dict[str, str], log_x: bool = False) -> dict:
    values = np.concatenate([v for v in groups.values() if len(v)]) if groups else np.zeros(0)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {}
    if log_x:
        positive = values[values > 0]
        low, high = (positive.min(), positive.max()) if len(positive) else (1e-6, 1.0)
        edges = np.geomspace(low, max(high, low * 1.001), BINS + 1)
    else:
        edges = np.linspace(values.min(), max(values.max(), values.min() + 1e-9), BINS + 1)
    figure = go.Figure()
    for name, data in groups.items():
        data = data[np.isfinite(data)]
        counts, _ = np.histogram(data, bins=edges)
        share = counts / max(len(data), 1)
        figure.add_trace(go.Bar(
            x=(edges[:-1] + edges[1:]) / 2, y=share, width=np.diff(edges), name=f"{name} ({len(data):,})",
            marker_color=colours[name], opacity=0.65,
        ))
    figure.update_layout(**_layout(title, barmode="overlay", xaxis_title=x_title, yaxis_title="share of samples"))
    # The whole binned range, first bin to last (plotly's autorange on a log axis may cut an end bar).
    low, high = float(edges[0]), float(edges[-1])
    if log_x:
        figure.update_xaxes(type="log", range=[np.log10(low), np.log10(high)])
    else:
        figure.update_xaxes(range=[low, high])
    return figure.to_plotly_json()


def _directory(run: Run) -> Path:
    """The run's directory: plots are drawn for completed runs only, which all have one."""
    if run.directory is None:
        raise ValueError(f"run {run.pk} has no directory to draw plots from")
    return run.directory


def score_histograms(run: Run) -> list[dict]:
    path = _directory(run) / "data/scores.csv"
    if not path.exists():
        return []
    scores = pd.read_csv(path, dtype={"filenames": str}).set_index("filenames")
    picked = set(RunSample.objects.filter(run=run, selected=True).values_list("filename", flat=True))
    chosen = scores.index.isin(list(picked))
    figures = []
    for column in scores.columns:
        values = scores[column].to_numpy(dtype=float)
        figures.append(_histogram(column, "score", {"all": values, "selected": values[chosen]},
                                  {"all": OTHERS, "selected": SELECTED}))
    return [f for f in figures if f]


def distance_histogram(run: Run) -> dict | None:
    path = _directory(run) / "data/nearest_neighbour_distances.npz"
    if not path.exists():
        return None
    with np.load(path) as data:
        groups = {"all samples": data["before"], "selection": data["after"]}
    return _histogram("Nearest-neighbour distance", "distance (log)", groups,
                      {"all samples": OTHERS, "selection": SELECTED}, log_x=True) or None


def class_balance(report: dict) -> list[dict]:
    figures = []
    for task, facts in (report.get("statistics", {}).get("classes") or {}).items():
        figure = go.Figure([
            go.Bar(x=facts["classes"], y=facts["share_before"], name="all samples", marker_color=OTHERS),
            go.Bar(x=facts["classes"], y=facts["share_after"], name="selection", marker_color=SELECTED),
        ])
        figure.update_layout(**_layout(f"Class balance: {task}", barmode="group", yaxis_title="share"))
        figures.append(figure.to_plotly_json())
    return figures


def training_loss(report: dict) -> dict | None:
    losses = ((report.get("job") or {}).get("training") or {}).get("losses")
    if not losses:
        return None
    figure = go.Figure(go.Scatter(x=list(range(1, len(losses) + 1)), y=losses, mode="lines+markers", marker_color=SELECTED))
    figure.update_layout(**_layout("Training loss (NT-Xent)", xaxis_title="epoch", yaxis_title="loss"))
    return figure.to_plotly_json()


def run_plots(run: Run) -> dict:
    """{"map": fig, "scores": [figs], "distances": fig, "classes": [figs], "loss": fig} for a
    completed run, built on first use and cached in the run directory."""
    cache = _directory(run) / PLOTS_JSON
    if cache.exists():
        return json.loads(cache.read_text())
    report_path = _directory(run) / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    plots = {
        "map": embedding_map(run),
        "scores": score_histograms(run),
        "distances": distance_histogram(run),
        "classes": class_balance(report),
        "loss": training_loss(report),
    }
    text = json.dumps(plots, cls=PlotlyJSONEncoder)
    with atomic_write(cache) as handle:
        handle.write(text)
    return json.loads(text)
