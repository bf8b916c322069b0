"""Reads of evaluations, always through the owner: someone else's evaluation does not exist (404)."""

from __future__ import annotations

from pathlib import Path

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .. import datadir
from ..runs import jobs
from ..runs.models import Run
from ..runs.selectors import checkpoints_of, runs_of
from .models import Evaluation


def evaluations_of(user) -> QuerySet[Evaluation]:
    return jobs.current(Evaluation).filter(owner=user).select_related("dataset")


def evaluation_of(user, pk: int) -> Evaluation:
    return get_object_or_404(evaluations_of(user), pk=pk)


def embedding_choices(user, dataset) -> list[tuple[str, str]]:
    """(path relative to the user's folder, label) of the embeddings an evaluation may compare
    with random weights: the checkpoints of the user's runs (any dataset: weights fit any images)
    and the embeddings CSVs of the completed runs of ``dataset`` (its filenames)."""
    root = datadir.user_dir(user.pk)
    choices = [(path, f"Checkpoint of {label}") for path, label in checkpoints_of(user)]
    for run in runs_of(user).filter(dataset=dataset, state=Run.COMPLETED).exclude(run_dir=""):
        path = Path(run.run_dir) / "data" / "embeddings.csv"
        if path.is_file() and root.resolve() in path.resolve().parents:
            label = f"Embeddings CSV of run {run.pk} ({run.finished_at:%Y-%m-%d %H:%M})"
            choices.append((path.relative_to(root).as_posix(), label))
    return choices


def status(evaluation: Evaluation) -> dict:
    """The page's live state, polled as JSON: a job's status and the recommendation."""
    return {**jobs.status(evaluation), "recommendation": evaluation.recommendation}


def method_rows(evaluation: Evaluation) -> list[dict]:
    """The methods table as shown: accuracies to three decimals, differences signed, the
    recommended row marked."""
    summary = evaluation.summary or {}
    advice = summary.get("recommendation") or {}

    def number(value, signed: bool = False) -> str:
        if value is None:
            return "–"
        return f"{value:+.3f}" if signed else f"{value:.3f}"

    rows = []
    for row in summary.get("methods") or []:
        rows.append({
            "embeddings": row.get("embeddings"),
            "method": row.get("method"),
            "accuracy": number(row.get("mean_accuracy")),
            "vs_random": number(row.get("mean_vs_random"), signed=True),
            "worst_round": number(row.get("worst_round_vs_random"), signed=True),
            "rounds_ahead": f"{row.get('rounds_ahead')}/{row.get('rounds')}",
            "baseline": row.get("method") == "random",
            "recommended": (row.get("embeddings"), row.get("method")) == (advice.get("embeddings"), advice.get("method")),
        })
    return rows
