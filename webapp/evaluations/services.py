"""Writes on evaluations: create (every input checked, the labels stored in the user's folder),
start, complete, and the engine's configs of an evaluation (cancel and finish are ``runs.jobs``'s).

How an evaluation flows, like a run (DESIGN.md): ``create_evaluation`` checks the form's values,
the labels and the protocol, saves a queued Evaluation and enqueues ``tasks.execute_evaluation``
on commit → the task calls the engine's ``evaluate`` with progress written to the Evaluation →
``complete_evaluation`` stores the summary the page shows. Files live in
``users/<id>/evaluations/evaluation-<pk>/``: ``labels.csv`` (an uploaded CSV, validated and
rewritten) and ``results/`` (the engine's output).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from selection_engine.config import RunConfig, resolve
from selection_engine.config.documents import MAX_INPUT_SIZE
from selection_engine.errors import ConfigError, WinnowError
from selection_engine.evaluation.command import METHODS, EvaluationConfig
from selection_engine.fileio import atomic_write

from .. import datadir
from ..datasets.services import engine_source
from ..runs import jobs
from . import selectors
from .labels import check_labels, folder_labels, read_labels_csv
from .models import Evaluation

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

    from ..datasets.models import Dataset

#: Upper bounds of the protocol a user may ask for: the worker's time is shared.
LIMITS = {"initial": 1000, "per_round": 1000, "rounds": 20, "seeds": 10}
#: The input sizes (pixels) the images may be embedded at, as in the run wizard.
INPUT_SIZES = (16, MAX_INPUT_SIZE)
#: The methods a user may add to random (the baseline, always measured).
CHOICE_METHODS = tuple(m for m in METHODS if m != "random")


def folder(evaluation: Evaluation) -> Path:
    """The evaluation's folder inside its owner's folder."""
    return datadir.evaluation_dir(evaluation.owner_id, evaluation.pk)


def _labels_relpath(evaluation: Evaluation) -> str:
    folder = datadir.evaluation_dir(evaluation.owner_id, evaluation.pk)
    return (folder / "labels.csv").relative_to(datadir.user_dir(evaluation.owner_id)).as_posix()


def engine_configs(evaluation: Evaluation) -> tuple[RunConfig, EvaluationConfig]:
    """The engine's run config (the user's folder as shared_dir) and evaluation config of
    ``evaluation``; a ConfigError names the bad key. An unsaved evaluation gets no run directory."""
    options = EvaluationConfig(
        initial=evaluation.initial, per_round=evaluation.per_round, rounds=evaluation.rounds, seeds=evaluation.seeds,
        methods=list(evaluation.methods), embeddings=list(evaluation.embeddings),
        labels=_labels_relpath(evaluation) if evaluation.labels_source == Evaluation.CSV and evaluation.pk else "",
    )
    options.validate()
    worker: dict[str, Any] = {"stopping_condition": {"n_samples": evaluation.per_round}}  # as ``winnow evaluate`` sets it
    if evaluation.pk:
        worker["run_directory"] = f"{datadir.evaluation_directory_name(evaluation.pk)}/results"
    config = resolve(
        worker, {"collate": {"input_size": evaluation.input_size}}, None,
        shared_dir=str(datadir.user_dir(evaluation.owner_id)), output_dir=str(datadir.evaluations_dir(evaluation.owner_id)),
    )
    return config, options


def _check_protocol(values: dict) -> None:
    for key, (low, high) in {**{k: (1, v) for k, v in LIMITS.items()}, "input_size": INPUT_SIZES}.items():
        value = values.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValidationError({key: f"Give a whole number from {low} to {high}."})
    if not values.get("methods"):
        raise ValidationError({"methods": "Choose at least one method to measure against random labeling."})
    unknown = [m for m in values["methods"] if m not in CHOICE_METHODS]
    if unknown:
        raise ValidationError({"methods": f"Unknown method {unknown[0]!r}; choose from {', '.join(CHOICE_METHODS)}."})


def _list_images(dataset: Dataset) -> list[str]:
    try:
        return engine_source(dataset).list_images()
    except WinnowError as exc:
        raise ValidationError(f"The images of {dataset.name} cannot be listed: {exc}") from None
    except Exception as exc:  # boto/network errors: say so, never a 500
        raise ValidationError(f"The images of {dataset.name} cannot be listed: {type(exc).__name__}: {exc}") from None


def create_evaluation(user: User, dataset: Dataset, *, labels_source: str, labels_csv: UploadedFile | None = None,
                      embeddings: str = "", methods: Sequence[str] = CHOICE_METHODS, initial: int = 30,
                      per_round: int = 30, rounds: int = 8, seeds: int = 5, input_size: int = 64) -> Evaluation:
    """Check everything, save a queued Evaluation and enqueue it; a ValidationError keyed by the
    form's field names otherwise (nothing is saved then)."""
    if dataset.owner_id != user.pk:
        raise PermissionError("not your dataset")
    _check_protocol({"initial": initial, "per_round": per_round, "rounds": rounds, "seeds": seeds, "methods": methods,
                     "input_size": input_size})
    if labels_source not in (Evaluation.FOLDERS, Evaluation.CSV):
        raise ValidationError({"labels_source": "Choose where the labels come from."})
    upload = None  # the labels CSV, when the labels come from one
    if labels_source == Evaluation.CSV:
        if labels_csv is None:
            raise ValidationError({"labels_csv": "Choose a CSV file of filenames,labels."})
        upload = labels_csv
    if embeddings and embeddings not in dict(selectors.embedding_choices(user, dataset)):
        raise ValidationError({"embeddings": "Choose embeddings from the list (a checkpoint or embeddings CSV of your runs)."})
    evaluation = Evaluation(
        owner=user, dataset=dataset, labels_source=labels_source,
        labels_name=((upload.name or "")[:255] if upload is not None else ""),
        embeddings=["random"] + ([embeddings] if embeddings else []),
        methods=["random"] + [m for m in CHOICE_METHODS if m in methods],
        initial=initial, per_round=per_round, rounds=rounds, seeds=seeds, input_size=input_size,
    )
    try:
        config, options = engine_configs(evaluation)
    except ConfigError as exc:
        raise ValidationError(str(exc)) from None
    images = _list_images(dataset)
    if upload is not None:
        labels = read_labels_csv(upload, set(images), dataset.name)
    else:
        labels = folder_labels(config, images)
    check_labels(labels, options, "labels_csv" if labels_source == Evaluation.CSV else "labels_source")
    evaluation.n_labeled, evaluation.n_classes = len(labels), len(set(labels.values()))
    with transaction.atomic():
        evaluation.save()
        if labels_source == Evaluation.CSV:
            _write_labels(datadir.user_dir(user.pk) / _labels_relpath(evaluation), labels)
        jobs.enqueue(evaluation, "webapp.evaluations.tasks.execute_evaluation")
    return evaluation


def _write_labels(path: Path, labels: dict[str, str]) -> None:
    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["filenames", "labels"])
        writer.writerows(sorted(labels.items()))


def start_evaluation(evaluation_id: int) -> Evaluation | None:
    """The evaluation, moved from queued to running (``jobs.claim``) with its output directory;
    None if it was not queued."""
    if not jobs.claim(Evaluation, evaluation_id):
        return None
    evaluation = Evaluation.objects.select_related("dataset", "owner").get(pk=evaluation_id)
    evaluation.run_dir = str(folder(evaluation) / "results")
    evaluation.save(update_fields=["run_dir"])
    return evaluation


def complete_evaluation(evaluation: Evaluation, summary: dict) -> None:
    Evaluation.objects.filter(pk=evaluation.pk).update(
        state=Evaluation.COMPLETED, summary=_json_safe(summary), stage="done", error="", finished_at=timezone.now(),
    )


def _json_safe(value: Any) -> Any:
    """The summary as plain JSON: numpy scalars as Python numbers, NaN and infinities as null."""

    def default(item: Any) -> Any:
        return item.item() if hasattr(item, "item") else str(item)

    def clean(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {str(k): clean(v) for k, v in item.items()}
        if isinstance(item, list):
            return [clean(v) for v in item]
        return item

    return clean(json.loads(json.dumps(value, default=default)))


def fail_stale_evaluations() -> int:
    """Fail running evaluations whose worker stopped sending heartbeats."""
    return jobs.fail_stale(Evaluation)

