"""Loading a finished run's files into the database for the gallery, and the files it keeps.

From the run directory: ``data/selected_samples.csv`` and ``removed_samples.csv`` (who was
picked, rank, reasons), ``data/scores.csv``, ``data/classes.csv``, ``data/metadata.csv`` and
``data/normalized_embeddings.csv``. Written for the gallery: ``gallery/embeddings.npy`` (float32
(N, D), row ``RunSample.row``) for nearest-neighbour lookups, and a 2-D PCA map in ``x``/``y``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from django.db.models import Avg, Count, Q
from sklearn.decomposition import PCA

from selection_engine.config.tasks import task_of_column
from selection_engine.fileio import atomic_write

from .models import Run, RunSample

EMBEDDINGS_NPY = "gallery/embeddings.npy"
_TEXT = {"filenames": str, "reason": str, "nearest_selected": str}
#: Keys ``load_samples`` puts in ``RunSample.scores`` that are facts of the selection, not scores
#: (besides the ``contribution/<objective>`` terms).
SELECTION_FACTS = frozenset({"typicality_factor", "distance_to_nearest_earlier_pick", "nearest_selected", "distance"})


def score_items(sample: RunSample) -> list[tuple[str, float]]:
    """(name, value) of the sample's scores, in stored order: numbers only, no selection facts."""
    return [
        (name, float(value)) for name, value in sample.scores.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        and name not in SELECTION_FACTS and not name.startswith("contribution/")
    ]


def _clean(value):
    """JSON-safe: NaN/inf → None, numpy scalars → Python."""
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _rows(frame: pd.DataFrame) -> dict[str, dict]:
    """filename → {column: value} without missing values."""
    if frame.empty:
        return {}
    frame = frame.set_index("filenames")
    return {
        name: {k: _clean(v) for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
        for name, row in zip(frame.index, frame.to_dict("records"))
    }


def _read(path: Path, **kwargs) -> pd.DataFrame:
    kwargs.setdefault("dtype", _TEXT)
    return pd.read_csv(path, **kwargs) if path.exists() else pd.DataFrame()


def load_samples(run: Run, run_dir: Path) -> list[RunSample]:
    """One unsaved RunSample per sample of the run (selected first, by rank)."""
    selected = _read(run_dir / "data/selected_samples.csv")
    removed = _read(run_dir / "removed_samples.csv", keep_default_na=False, na_values={"distance": [""]})
    scores = _rows(_read(run_dir / "data/scores.csv"))
    metadata = _rows(_read(run_dir / "data/metadata.csv"))
    task = task_of_column(run.primary_score)
    classes_frame = _read(run_dir / "data/classes.csv", dtype=str, keep_default_na=False)  # class "3" is text
    classes = dict(zip(classes_frame["filenames"], classes_frame[task])) if task and task in classes_frame else {}
    rows, xy = _embedding_map(run_dir)

    def sample(name: str, **fields) -> RunSample:
        values = {**scores.get(name, {}), **fields.pop("extra", {})}
        row = rows.get(name, -1)
        labels = classes.get(name, "")
        return RunSample(
            run=run, filename=name, scores=values, metadata=metadata.get(name, {}),
            score=values.get(run.primary_score, RunSample.NO_SCORE) if run.primary_score else RunSample.NO_SCORE,
            classes=f"|{labels.replace(';', '|')}|" if labels else "",
            row=row, x=float(xy[row, 0]) if row >= 0 else None, y=float(xy[row, 1]) if row >= 0 else None,
            **fields,
        )

    samples = []
    for record in selected.to_dict("records"):
        extra = {k: _clean(v) for k, v in record.items() if k not in ("filenames", "rank", "reason")}
        samples.append(sample(record["filenames"], selected=True, rank=int(record["rank"]),
                              reason=str(record.get("reason") or "")[:500], extra=extra))
    for record in removed.to_dict("records"):
        extra = {"nearest_selected": record.get("nearest_selected") or None, "distance": _clean(float(record["distance"]))}
        samples.append(sample(record["filenames"], selected=False, reason=str(record.get("reason") or "")[:500],
                              extra={k: v for k, v in extra.items() if v is not None}))
    return samples


def metadata_facts(samples: list[RunSample]) -> dict:
    """{"metadata_keys": every key, "numeric_metadata": keys whose values are all numbers}:
    the gallery sorts numeric keys as numbers and the others as text."""
    kinds: dict[str, bool] = {}
    for sample in samples:
        for key, value in sample.metadata.items():
            if value is not None:
                numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
                kinds[key] = kinds.get(key, True) and numeric
    return {"metadata_keys": sorted(kinds), "numeric_metadata": sorted(k for k, numeric in kinds.items() if numeric)}


def _embedding_map(run_dir: Path) -> tuple[dict[str, int], np.ndarray]:
    """filename → embedding row, and the (N, 2) PCA map; saves the embeddings for lookups."""
    path = run_dir / "data/normalized_embeddings.csv"
    if not path.exists():
        return {}, np.zeros((0, 2))
    frame = pd.read_csv(path, dtype={"filenames": str})
    columns = [c for c in frame.columns if c.startswith("embedding_")]
    embeddings = frame[columns].to_numpy(dtype=np.float32)
    target = run_dir / EMBEDDINGS_NPY
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target, mode="wb") as handle:
        np.save(handle, embeddings)
    if len(embeddings) >= 2 and embeddings.shape[1] >= 2:
        xy = PCA(n_components=2, random_state=0).fit_transform(embeddings)
    else:
        xy = np.zeros((len(embeddings), 2))
    return {name: i for i, name in enumerate(frame["filenames"])}, xy


def nearest_neighbours(run: Run, sample: RunSample, k: int = 8) -> list[tuple[int, float]]:
    """(row, distance) of the ``k`` samples nearest to ``sample`` in the run's embeddings."""
    path = run.directory / EMBEDDINGS_NPY if run.directory else None
    if sample.row < 0 or path is None or not path.exists():
        return []
    embeddings = np.load(path, mmap_mode="r")
    query = np.asarray(embeddings[sample.row], dtype=np.float32)
    distances = np.sqrt(np.maximum(((embeddings - query) ** 2).sum(axis=1), 0))
    distances[sample.row] = np.inf
    k = min(k, len(distances) - 1)
    if k <= 0:
        return []
    nearest = np.argpartition(distances, k)[:k]
    nearest = nearest[np.argsort(distances[nearest])]
    return [(int(i), float(distances[i])) for i in nearest]


# -- the run page's headline ----------------------------------------------------------------------

@dataclass
class ClassShare:
    name: str
    before: float  # share of the objects of this class among all candidates, in [0, 1]
    after: float  # ... among the selected ones


@dataclass
class Headline:
    """What a completed run did, in the numbers its page leads with."""

    selected: int
    candidates: int
    #: The run's primary score ("task/score"), "" when it has none; the means are over the
    #: samples that have it (None when none has).
    score_name: str = ""
    mean_selected: float | None = None
    mean_all: float | None = None
    #: The class mix of ``class_task`` before (all candidates) and after (the selection).
    class_task: str = ""
    classes: list[ClassShare] = field(default_factory=list)


def report_of(run: Run) -> dict:
    """The run's report.json ({} when the run wrote none or it cannot be read)."""
    path = run.directory / "report.json" if run.directory else None
    try:
        return json.loads(path.read_text()) if path is not None and path.is_file() else {}
    except (OSError, ValueError):
        return {}


def headline(run: Run) -> Headline | None:
    """The headline of a completed run (None for any other): selected of candidates and the
    means of its primary score from its samples, the class mix from report.json."""
    if run.state != Run.COMPLETED:
        return None
    scored = ~Q(score=RunSample.NO_SCORE)
    numbers = run.samples.aggregate(
        n_total=Count("id"), n_selected=Count("id", filter=Q(selected=True)),
        mean_all=Avg("score", filter=scored), mean_selected=Avg("score", filter=scored & Q(selected=True)),
    )
    report = report_of(run)
    job = report.get("job") or {}
    made = Headline(
        selected=run.n_selected if run.n_selected is not None else numbers["n_selected"],
        candidates=int(job.get("candidates") or numbers["n_total"]),
        score_name=run.primary_score,
    )
    if run.primary_score:
        made.mean_all, made.mean_selected = numbers["mean_all"], numbers["mean_selected"]
    mixes = (report.get("statistics") or {}).get("classes") or {}
    task = task_of_column(run.primary_score)
    task = task if task in mixes else next(iter(mixes), "")
    if task:
        mix = mixes[task]
        made.class_task = task
        made.classes = [ClassShare(name, before, after)
                        for name, before, after in zip(mix["classes"], mix["share_before"], mix["share_after"])]
    return made
