"""Loading a finished run's files into the database for the gallery, and the files it keeps.

From the run directory: ``data/selected_samples.csv`` and ``removed_samples.csv`` (who was
picked, rank, reasons), ``data/scores.csv``, ``data/classes.csv``, ``data/metadata.csv`` and
``data/normalized_embeddings.csv``. Written for the gallery: ``gallery/embeddings.npy`` (float32
(N, D), row ``RunSample.row``) for nearest-neighbour lookups, and a 2-D PCA map in ``x``/``y``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from django.db.models import Avg, Count, Q
from sklearn.decomposition import PCA

from selection_engine.config.tasks import task_of_column
from selection_engine.fileio import atomic_write

from .models import Run, RunSample

EMBEDDINGS_NPY = "gallery/embeddings.npy"
_TEXT = {"filenames": str, "reason": str, "nearest_selected": str}
#: Keys ``SampleRows`` puts in ``RunSample.scores`` that are facts of the selection, not scores
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


def _read(path: Path, **kwargs) -> pd.DataFrame:
    kwargs.setdefault("dtype", _TEXT)
    return pd.read_csv(path, **kwargs) if path.exists() else pd.DataFrame()


_MISSING = object()  # a value the CSV left empty, where empty means "no such key"


def _column(values: pd.Series, keep_missing: bool) -> list:
    """The column's values as ``_clean`` makes them; a missing one (NaN) is None if
    ``keep_missing``, else ``_MISSING``. Numeric columns in one numpy step, the rest value by value."""
    array = values.to_numpy()
    if array.dtype.kind == "f":
        out = array.astype(object)  # Python floats
        out[~np.isfinite(array)] = None
        if not keep_missing:
            out[np.isnan(array)] = _MISSING
        return out.tolist()
    if array.dtype.kind in "iub":
        return array.tolist()
    missing = None if keep_missing else _MISSING
    return [missing if isinstance(v, float) and math.isnan(v) else _clean(v) for v in array.tolist()]


def _records(frame: pd.DataFrame, keep_missing: bool) -> list[dict]:
    """{column: value} per row of ``frame``, without missing values unless ``keep_missing``."""
    keys = list(frame.columns)
    if not keys:
        return [{} for _ in range(len(frame))]
    columns = [_column(frame[key], keep_missing) for key in keys]
    if keep_missing:
        return [dict(zip(keys, values)) for values in zip(*columns)]
    return [{k: v for k, v in zip(keys, values) if v is not _MISSING} for values in zip(*columns)]


class _ByName:
    """Rows of a table by filename (of a name listed twice, the last row, as a dict would keep)."""

    def __init__(self, filenames: pd.Series):
        self._rows = np.flatnonzero(~filenames.duplicated(keep="last").to_numpy())
        self._index = pd.Index(filenames.to_numpy()[self._rows])

    def rows(self, names: list[str]) -> np.ndarray:
        """int64 (len(names),): each name's row in the table, -1 where it has none."""
        found = self._index.get_indexer(names)
        return np.where(found >= 0, self._rows[found], -1) if len(self._rows) else np.full(len(names), -1)


class _Table:
    """A per-filename CSV of the run (scores, metadata): each name's {column: value}."""

    def __init__(self, frame: pd.DataFrame):
        self._by_name = _ByName(frame["filenames"] if not frame.empty else pd.Series([], dtype=object))
        self._values = frame.drop(columns="filenames") if not frame.empty else frame

    def records(self, names: list[str]) -> list[dict]:
        rows = self._by_name.rows(names)
        found = iter(_records(self._values.iloc[rows[rows >= 0]], keep_missing=False))
        return [next(found) if row >= 0 else {} for row in rows]


class SampleRow(NamedTuple):
    """One RunSample's values; ``SampleRow._fields`` are the columns for ``bulk.insert``."""

    run_id: int
    filename: str
    selected: bool
    rank: int | None
    score: float | None  # None only where the primary score is missing (NaN) or infinite
    scores: dict
    reason: str
    classes: str
    metadata: dict
    row: int
    x: float | None
    y: float | None


class SampleRows:
    """A finished run's samples as rows for RunSample (selected first, by rank), read from its
    run directory and built ``chunk_size`` at a time: a million-sample run is never a million
    model instances or a million dicts at once.

    Iterate once. ``selected`` is the selection's filenames by rank; ``kinds`` has seen every
    sample's metadata once the iteration is done (``kinds.facts()`` for ``Run.facts``).
    """

    def __init__(self, run: Run, run_dir: Path, chunk_size: int = 10_000):
        self.run_id, self.primary_score, self.chunk_size = run.pk, run.primary_score, chunk_size
        self._embeddings, self._xy = _embedding_map(run_dir)  # first: its peak is over before the rest is read
        self._selected = _read(run_dir / "data/selected_samples.csv")
        self._removed = _read(run_dir / "removed_samples.csv", keep_default_na=False, na_values={"distance": [""]})
        self._scores = _Table(_read(run_dir / "data/scores.csv"))
        self._metadata = _Table(_read(run_dir / "data/metadata.csv"))
        task = task_of_column(run.primary_score)
        classes = _read(run_dir / "data/classes.csv", dtype=str, keep_default_na=False)  # class "3" is text
        has_classes = bool(task) and task in classes
        self._classes = _ByName(classes["filenames"] if has_classes else pd.Series([], dtype=object))
        self._labels = classes[task].tolist() if has_classes else []
        self.selected: list[str] = self._selected["filenames"].tolist() if not self._selected.empty else []
        self.kinds = MetadataKinds()

    def __iter__(self) -> Iterator[SampleRow]:
        size = self.chunk_size
        for start in range(0, len(self._selected), size):
            chunk = self._selected.iloc[start:start + size]
            ranks = [int(rank) for rank in chunk["rank"].tolist()]
            extras = _records(chunk.drop(columns=["filenames", "rank", "reason"], errors="ignore"), keep_missing=True)
            yield from self._rows(chunk, True, ranks, extras)
        for start in range(0, len(self._removed), size):
            chunk = self._removed.iloc[start:start + size]
            nearest = chunk["nearest_selected"].tolist() if "nearest_selected" in chunk else [None] * len(chunk)
            distances = [_clean(float(d)) for d in chunk["distance"].tolist()]
            extras = [{k: v for k, v in (("nearest_selected", n or None), ("distance", d)) if v is not None}
                      for n, d in zip(nearest, distances)]
            yield from self._rows(chunk, False, [None] * len(chunk), extras)

    def _rows(self, chunk: pd.DataFrame, selected: bool, ranks: list, extras: list[dict]) -> Iterator[SampleRow]:
        names = chunk["filenames"].tolist()
        reasons = [str(r or "")[:500] for r in chunk["reason"].tolist()] if "reason" in chunk else [""] * len(names)
        labels = [self._labels[i] if i >= 0 else "" for i in self._classes.rows(names)]
        rows = self._embeddings.rows(names)
        xy = self._xy[np.maximum(rows, 0)].tolist() if len(self._xy) else [None] * len(names)
        primary = self.primary_score
        for name, rank, reason, extra, scores, metadata, label, row, point in zip(
            names, ranks, reasons, extras, self._scores.records(names), self._metadata.records(names), labels,
            rows.tolist(), xy, strict=True,
        ):
            values = {**scores, **extra}
            self.kinds.add(metadata)
            yield SampleRow(
                self.run_id, name, selected, rank,
                values.get(primary, RunSample.NO_SCORE) if primary else RunSample.NO_SCORE,
                values, reason, f"|{label.replace(';', '|')}|" if label else "", metadata, row,
                point[0] if row >= 0 else None, point[1] if row >= 0 else None,
            )


def load_samples(run: Run, run_dir: Path) -> list[RunSample]:
    """One unsaved RunSample per sample of the run (selected first, by rank): the rows of
    :class:`SampleRows` as model instances, for small runs and for comparing with the bulk path."""
    return [RunSample(**row._asdict()) for row in SampleRows(run, run_dir)]


class MetadataKinds:
    """Which metadata keys the samples have, and which hold only numbers, seen one sample's
    metadata at a time: the gallery sorts numeric keys as numbers and the others as text."""

    def __init__(self) -> None:
        self._numeric: dict[str, bool] = {}

    def add(self, metadata: dict) -> None:
        kinds = self._numeric
        for key, value in metadata.items():
            if value is None:
                continue
            # type() first: the isinstance() rule alone on every value is a second per million samples
            numeric = type(value) in (float, int) or (isinstance(value, (int, float)) and not isinstance(value, bool))
            if key not in kinds or not numeric:
                kinds[key] = kinds.get(key, True) and numeric

    def facts(self) -> dict:
        """{"metadata_keys": every key, "numeric_metadata": keys whose values are all numbers}."""
        kinds = self._numeric
        return {"metadata_keys": sorted(kinds), "numeric_metadata": sorted(k for k, numeric in kinds.items() if numeric)}


def metadata_facts(samples: list[RunSample]) -> dict:
    """:meth:`MetadataKinds.facts` of ``samples``."""
    kinds = MetadataKinds()
    for sample in samples:
        kinds.add(sample.metadata)
    return kinds.facts()


def _embedding_map(run_dir: Path) -> tuple[_ByName, np.ndarray]:
    """filename → embedding row, and the (N, 2) PCA map; saves the embeddings for lookups."""
    path = run_dir / "data/normalized_embeddings.csv"
    if not path.exists():
        return _ByName(pd.Series([], dtype=object)), np.zeros((0, 2))
    # In pieces: a million rows of 32 dimensions are 256 MB as float64, 128 MB kept as float32.
    names, parts = [], []
    for frame in pd.read_csv(path, dtype={"filenames": str}, chunksize=100_000):
        names.append(frame["filenames"])
        parts.append(frame[[c for c in frame.columns if c.startswith("embedding_")]].to_numpy(dtype=np.float32))
    embeddings = np.concatenate(parts)
    del parts
    target = run_dir / EMBEDDINGS_NPY
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target, mode="wb") as handle:
        np.save(handle, embeddings)
    if len(embeddings) >= 2 and embeddings.shape[1] >= 2:
        xy = PCA(n_components=2, random_state=0).fit_transform(embeddings)
    else:
        xy = np.zeros((len(embeddings), 2))
    return _ByName(pd.concat(names, ignore_index=True)), xy


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
