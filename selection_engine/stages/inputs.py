"""Gathering what the strategies read: predictions and their scores, query samples.

The pipeline calls these stage by stage; each returns plain arrays/DataFrames aligned to the
run's samples, which end up in a :class:`~selection_engine.selection.SelectionData`.
:func:`score_samples` is the scores stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import RunConfig, SelectionConfig
from ..config.documents import ScorerConfig
from ..config.paths import path_of
from ..config.tasks import score_column
from ..errors import ConfigError, InputError
from ..fileio import atomic_write
from ..formats.embeddings import EmbeddingTable, normalize, read_embeddings
from ..formats.predictions import LoadedPredictions, load_predictions
from ..progress import Reporter
from ..scoring import compute_scores
from ..selection import ClassCounts
from ..sources import Source
from .rundir import RunDirectory


def load_valid_predictions(
    source: Source, filenames: list[str], known_images: list[str], invalid_predictions: str, reporter: Reporter
) -> LoadedPredictions:
    """Predictions of every task; bad files fail the run or are skipped (``invalid_predictions``:
    "fail" or "skip")."""
    loaded = load_predictions(source, filenames, reporter=reporter, known_images=known_images)
    for task, schema in loaded.schemas.items():
        reporter.log(
            f"Task {task} ({schema.task_type}, {schema.n_categories} categories): "
            f"{loaded.coverage(task)} of {len(filenames)} images have predictions."
        )
    if loaded.problems:
        first = loaded.problems[0]
        more = f" (and {len(loaded.problems) - 1} more bad prediction files)" if len(loaded.problems) > 1 else ""
        if invalid_predictions == "fail":
            raise InputError(first.file, f"{first.message}{more}; set invalid_predictions=skip to skip bad files")
        for problem in loaded.problems:
            reporter.log(f"Warning: skipped {problem.file}: {problem.message}")
    return loaded


def prediction_scores(
    predictions: LoadedPredictions, filenames: list[str], scorer_config: ScorerConfig
) -> tuple[dict[str, np.ndarray], dict[str, ClassCounts]]:
    """(scores {"task/score": float64 (N,)}, class counts per task) over the N ``filenames``."""
    scores: dict[str, np.ndarray] = {}
    classes: dict[str, ClassCounts] = {}
    for task in predictions.schemas:
        parsed = predictions.task(task, filenames)
        for name, values in compute_scores(parsed, scorer_config).items():
            scores[score_column(task, name)] = values
        counts = np.zeros((len(filenames), parsed.schema.n_categories))
        np.add.at(counts, (parsed.image_index, parsed.category_index), 1.0)
        classes[task] = ClassCounts(counts, list(parsed.schema.category_names))
    return scores, classes


def classes_frame(filenames: list[str], class_counts: dict[str, ClassCounts]) -> pd.DataFrame:
    """Per image and task, the predicted classes joined by ``;``, most frequent first ("" for none)."""
    frame = pd.DataFrame({"filenames": filenames})
    for task, counts in class_counts.items():
        names = np.array(counts.names, dtype=object)
        order = np.argsort(-counts.counts, axis=1, kind="stable")
        present = np.take_along_axis(counts.counts, order, axis=1) > 0
        frame[task] = [";".join(names[row[keep]]) for row, keep in zip(order, present)]
    return frame


def column_scores(selection: SelectionConfig, embeddings_file: str, table: EmbeddingTable) -> dict[str, np.ndarray]:
    """Scores taken from columns of the embeddings CSV ``embeddings_file`` (the worker's
    ``embeddings``, "" without one), one per SCORES strategy that names a column."""
    scores = {}
    for spec in selection.strategies:
        column = spec.input.column
        if spec.input.type == "SCORES" and column:
            if not embeddings_file:
                raise ConfigError(
                    "active_learning_score_column_name",
                    f"scores from column {column!r} need embeddings=FILE with that column",
                )
            scores[column] = table.column(column, embeddings_file)
    return scores


def similarity_queries(config: RunConfig, table: EmbeddingTable) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Query embeddings (Q, D) and in-run query indices for each SIMILARITY strategy."""
    index = {name: i for i, name in enumerate(table.filenames)}
    queries = {}
    for i, spec in enumerate(config.selection.strategies):
        if spec.strategy.type != "SIMILARITY":
            continue
        key = f"selection_config.strategies[{i}].input"
        if spec.input.filenames is not None:
            missing = [f for f in spec.input.filenames if f not in index]
            if missing:
                raise ConfigError(f"{key}.filenames", f"{missing[0]!r} is not a sample of this run ({len(missing)} missing)")
            rows = np.array([index[f] for f in spec.input.filenames], dtype=np.int64)
            queries[i] = (table.embeddings[rows], rows)
            continue
        run_dir = path_of(config, f"{key}.run")
        stored = _read_selected(run_dir, f"{key}.run")
        present = np.array([index[f] for f in stored.filenames if f in index], dtype=np.int64)
        absent = [j for j, f in enumerate(stored.filenames) if f not in index]
        vectors = [table.embeddings[present]]
        if absent:
            if stored.embeddings.shape[1] != table.embeddings.shape[1]:
                raise InputError(
                    str(run_dir),
                    f"its selected embeddings have dimension {stored.embeddings.shape[1]}, "
                    f"this run's {table.embeddings.shape[1]}",
                )
            outside = stored.embeddings[absent]
            vectors.append(normalize(outside) if config.worker.normalize_embeddings else outside)
        queries[i] = (np.concatenate(vectors).astype(np.float32), present)
    return queries


def _read_selected(run_dir: Path, key: str) -> EmbeddingTable:
    path = run_dir / "data/selected_embeddings.csv"
    if not path.is_file():
        raise ConfigError(key, f"{run_dir} is not a completed run directory (no data/selected_embeddings.csv)")
    table = read_embeddings(path)
    if not len(table):
        raise ConfigError(key, f"the run {run_dir} selected nothing, so there are no query samples")
    return table


def scores_frame(filenames: list[str], scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per image: ``filenames``, then one column per score."""
    frame = pd.DataFrame({"filenames": filenames})
    for name, values in scores.items():
        frame[name] = values
    return frame


def score_samples(
    table: EmbeddingTable,
    selection: SelectionConfig,
    embeddings_file: str,
    predictions: LoadedPredictions | None,
    scorer_config: ScorerConfig,
    run_dir: RunDirectory,
    reporter: Reporter,
) -> tuple[dict[str, np.ndarray], dict[str, ClassCounts]]:
    """The scores stage: (scores {name: float64 (N,)}, class counts per task) of the N samples of
    ``table``.

    Scores are the embeddings file's columns that SCORES strategies name, then every task's
    ``task/score``; with predictions, those go to ``data/scores.csv`` and each image's predicted
    classes to ``data/classes.csv``.
    """
    scores = column_scores(selection, embeddings_file, table)
    class_counts: dict[str, ClassCounts] = {}
    if predictions is not None and predictions.schemas:
        task_scores, class_counts = prediction_scores(predictions, table.filenames, scorer_config)
        scores.update(task_scores)
        with atomic_write(run_dir / "data/scores.csv") as handle:
            scores_frame(table.filenames, task_scores).to_csv(handle, index=False, float_format="%.6g")
        with atomic_write(run_dir / "data/classes.csv") as handle:
            classes_frame(table.filenames, class_counts).to_csv(handle, index=False)
        reporter.log(f"Scores of {len(predictions.schemas)} tasks are stored in {run_dir / 'data/scores.csv'}")
    return scores, class_counts
