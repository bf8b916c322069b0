"""The report's figures, drawn with matplotlib's non-interactive backend into ``plots/*.png``.

Each ``draw_*`` function takes arrays (and a source for example images), returns a matplotlib
Figure, and never touches the run directory: ``report/__init__.py`` saves them and puts them
into the PDF, so one failing figure is left out without stopping the others.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # Figure objects need no pyplot state: safe in workers
from sklearn.decomposition import PCA

from ..images import UnreadableImage, open_image

if TYPE_CHECKING:
    from ..sources import Source

#: Retained samples, each with its closest removed neighbours and their distances.
Examples = list[tuple[str, list[tuple[str, float]]]]

ALL = "#9aa5b1"
SELECTED = "#d9480f"
#: The map never draws more points than this; the selection is always drawn in full.
MAX_MAP_POINTS = 30_000


def _figure(width: float = 8, height: float = 4.5) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height), dpi=110)
    return figure, figure.add_subplot()


def draw_distance_histogram(before: np.ndarray, after: np.ndarray) -> Figure:
    """Histograms of nearest-neighbour distance, all samples vs the selection, log-scaled counts."""
    figure, axes = _figure()
    finite = np.concatenate([before, after]) if len(after) else before
    bins = np.linspace(0, max(float(finite.max()) if finite.size else 1.0, 1e-6), 50).tolist()
    axes.hist(before, bins=bins, color=ALL, label=f"all samples (n={len(before)})")
    if len(after):
        axes.hist(after, bins=bins, color=SELECTED, alpha=0.8, label=f"selected (n={len(after)})")
    axes.set_yscale("log")
    axes.set_xlabel("distance to the nearest neighbour")
    axes.set_ylabel("samples (log scale)")
    axes.legend()
    axes.set_title("Nearest-neighbour distances before and after selection")
    figure.tight_layout()
    return figure


def umap_available() -> bool:
    """Whether the optional umap-learn package is installed."""
    return importlib.util.find_spec("umap") is not None


def embedding_map(embeddings: np.ndarray, method: str = "PCA", seed: int = 0) -> np.ndarray:
    """2-D coordinates (N, 2) of the embeddings by ``method``: "PCA" or "UMAP"."""
    if method == "UMAP":
        import umap

        mapped: npt.NDArray[np.floating[Any]] = umap.UMAP(random_state=seed).fit_transform(embeddings)
        return mapped
    if embeddings.shape[1] < 2 or len(embeddings) < 2:
        coords = np.zeros((len(embeddings), 2))
        coords[:, : min(2, embeddings.shape[1])] = embeddings[:, :2]
        return coords
    projected: npt.NDArray[np.floating[Any]] = PCA(n_components=2, random_state=seed).fit_transform(embeddings)
    return projected


def draw_embedding_map(coords: np.ndarray, selected: np.ndarray, method: str, seed: int = 0) -> Figure:
    """Scatter of the 2-D map, the selected samples highlighted on top."""
    figure, axes = _figure(7, 6)
    shown = np.arange(len(coords))
    if len(shown) > MAX_MAP_POINTS:
        shown = np.random.default_rng(seed).choice(len(coords), MAX_MAP_POINTS, replace=False)
    axes.scatter(coords[shown, 0], coords[shown, 1], s=4, color=ALL, label="all samples", rasterized=True)
    axes.scatter(coords[selected, 0], coords[selected, 1], s=10, color=SELECTED, label="selected", rasterized=True)
    axes.set_title(f"Embeddings in 2-D ({method}); selected samples highlighted")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.legend(loc="best")
    figure.tight_layout()
    return figure


def draw_score_histogram(name: str, values: np.ndarray, selected: np.ndarray) -> Figure:
    figure, axes = _figure(8, 3.6)
    bins = np.linspace(0, 1, 41).tolist()
    axes.hist(values, bins=bins, color=ALL, density=True, label="all samples")
    axes.hist(values[selected], bins=bins, color=SELECTED, alpha=0.7, density=True, label="selected")
    axes.set_xlabel(name)
    axes.set_ylabel("density")
    axes.legend()
    axes.set_title(f"{name}: all vs selected")
    figure.tight_layout()
    return figure


def draw_class_balance(task: str, classes: list[str], before: list[float], after: list[float]) -> Figure:
    figure, axes = _figure(8, 3.8)
    x = np.arange(len(classes))
    axes.bar(x - 0.2, before, width=0.4, color=ALL, label="all samples")
    axes.bar(x + 0.2, after, width=0.4, color=SELECTED, label="selected")
    axes.set_xticks(x, classes, rotation=30 if len(classes) > 6 else 0, ha="right" if len(classes) > 6 else "center")
    axes.set_ylabel("share of objects")
    axes.legend()
    axes.set_title(f"Class balance of {task}")
    figure.tight_layout()
    return figure


def draw_training_loss(losses: list[float]) -> Figure:
    figure, axes = _figure(8, 3.6)
    axes.plot(np.arange(1, len(losses) + 1), losses, marker="o", color=SELECTED)
    axes.set_xlabel("epoch")
    axes.set_ylabel("NT-Xent loss")
    axes.set_title("Self-supervised training loss")
    figure.tight_layout()
    return figure


def _thumbnail(source: Source, name: str, size: int = 160) -> np.ndarray:
    """uint8 (h, w, 3) of the image within ``size`` px; a grey tile when it cannot be read."""
    try:
        with open_image(source, name) as image:
            image.draft("RGB", (size, size))
            picture = image.convert("RGB")
            picture.thumbnail((size, size))
            return np.asarray(picture)
    except UnreadableImage:
        return np.full((size, size, 3), 200, dtype=np.uint8)


def draw_examples(source: Source, examples: Examples) -> Figure:
    """One row per retained sample: it, then its nearest removed neighbours with distances."""
    columns = 1 + max(len(removed) for _, removed in examples)
    figure = Figure(figsize=(2.2 * columns, 2.4 * len(examples)), dpi=110)
    grid = figure.subplots(len(examples), columns, squeeze=False)
    for row, (kept, removed) in enumerate(examples):
        cells = [(kept, "retained", SELECTED)] + [(name, f"removed, d={d:.3f}", "black") for name, d in removed]
        for column, axes in enumerate(grid[row]):
            axes.axis("off")
            if column < len(cells):
                name, caption, color = cells[column]
                axes.imshow(_thumbnail(source, name))
                axes.set_title(f"{caption}\n{name}", fontsize=7, color=color)
    figure.suptitle("Retained samples and their closest removed neighbours")
    figure.tight_layout()
    return figure


def pick_examples(
    filenames: list[str], selected: np.ndarray, nearest: np.ndarray, distance: np.ndarray, n: int, per_row: int = 3
) -> Examples:
    """The ``n`` retained samples with the closest removed neighbours, each with up to ``per_row``."""
    chosen = np.zeros(len(filenames), dtype=bool)
    chosen[selected] = True
    removed = np.flatnonzero(~chosen & (nearest >= 0) & np.isfinite(distance))
    order = removed[np.argsort(distance[removed], kind="stable")]
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(int(nearest[i]), []).append(int(i))
    ranked = sorted(groups, key=lambda kept: distance[groups[kept][0]])[:n]
    return [
        (filenames[kept], [(filenames[i], float(distance[i])) for i in groups[kept][:per_row]])
        for kept in ranked
    ]
