"""The evaluation's curves as plotly figures (JSON for plotly.js): test accuracy against the number
of labeled samples, one line per method with a ±1 standard deviation band over the seeds, one
figure per embeddings compared. Built from the stored summary; a few hundred points at most."""

from __future__ import annotations

import json
from collections import defaultdict

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.utils import PlotlyJSONEncoder

from selection_engine.evaluation.summary import BASELINE

from .models import Evaluation

BASELINE_COLOUR = "#6b7280"


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    red, green, blue = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def accuracy_figures(evaluation: Evaluation) -> list[dict]:
    """[{"embeddings": name, "figure": plotly JSON}] in the order the engine reported them."""
    curves: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in (evaluation.summary or {}).get("per_round") or []:
        curves[str(row["embeddings"])][str(row["method"])].append(row)
    methods = list(dict.fromkeys(m for per_method in curves.values() for m in per_method))
    palette = qualitative.Plotly
    colours = {m: BASELINE_COLOUR if m == BASELINE else palette[i % len(palette)] for i, m in enumerate(methods)}
    figures = []
    for embeddings, per_method in curves.items():
        figure = go.Figure()
        for method, rows in per_method.items():
            rows = sorted(rows, key=lambda r: r["labeled"])
            x = [r["labeled"] for r in rows]
            mean = [r["mean"] for r in rows]
            std = [r["std"] or 0.0 for r in rows]
            upper = [m + s for m, s in zip(mean, std)]
            lower = [m - s for m, s in zip(mean, std)]
            figure.add_trace(go.Scatter(
                x=x + x[::-1], y=upper + lower[::-1], mode="lines", fill="toself", fillcolor=_rgba(colours[method], 0.15),
                line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=method, name=f"{method} ±1 std",
            ))
            figure.add_trace(go.Scatter(
                x=x, y=mean, mode="lines+markers", name=method, legendgroup=method, customdata=std,
                line={"color": colours[method], "dash": "dash" if method == BASELINE else "solid", "width": 2},
                marker={"size": 6},
                hovertemplate=f"{method}<br>%{{x}} labels: %{{y:.3f}} ± %{{customdata:.3f}}<extra></extra>",
            ))
        figure.update_layout(
            title=f"Accuracy vs labeled samples · embeddings: {embeddings}", template="plotly_white", height=420,
            margin={"l": 60, "r": 20, "t": 55, "b": 50}, xaxis_title="labeled samples", yaxis_title="test accuracy",
            hovermode="closest",
        )
        figures.append({"embeddings": embeddings, "figure": figure.to_plotly_json()})
    return json.loads(json.dumps(figures, cls=PlotlyJSONEncoder))
