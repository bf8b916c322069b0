"""``winnow evaluate key=value ...``: the simulated labeling loop on a user's own labeled images.

Takes the run's keys (input_dir, shared_dir, output_dir, embeddings, checkpoint, lightly.*,
seed, ...) plus ``evaluation.*`` keys (:class:`EvaluationConfig`), and writes into
``<output_dir>/<run_directory or YYYY-MM-DD/HH:MM:SS>/``: ``accuracy.csv`` (every seed and
round), ``methods.csv`` (the table printed), ``accuracy.png`` (the plot) and ``evaluation.json``
(protocol, table, per-round means and the recommendation).
"""

from __future__ import annotations

import dataclasses
import math
import posixpath
import sys
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import RunConfig, resolve
from ..config.paths import resolve_in
from ..config.selection import from_legacy, parse_selection_config
from ..config.typed import CliText, build, dotted_keys
from ..errors import ConfigError, InputError
from ..formats.embeddings import normalize, read_embeddings
from ..formats.jsondoc import parse_json
from ..progress import Reporter
from ..sources import Source, source_for_input_dir
from ..stages.rundir import RunDirectory
from .loop import TASK, Protocol, Selector, engine_selector, random_selector, simulate
from .summary import method_table, paired_differences, per_round, plot, recommendation, text_table

#: The methods ``evaluation.methods`` may name; "cold-start" is coral before any model exists
#: (diversity weighed by typicality, no scores).
METHODS = ("random", "coreset", "coral", "cold-start")


@dataclass
class EvaluationConfig(Protocol):
    """The loop's protocol (initial labels, rounds, labels per round, seeds, test share) and what
    to compare."""

    methods: list[str] = field(default_factory=lambda: list(METHODS))
    #: Selection config JSON files (relative to shared_dir), each evaluated as one more method.
    selection_configs: list[str] = field(default_factory=list)
    #: Embeddings to compare: "random" (the model with random weights), a checkpoint file or an
    #: embeddings CSV (relative to shared_dir). Empty: what the run keys say (embeddings=,
    #: checkpoint=, or random weights).
    embeddings: list[str] = field(default_factory=list)
    #: A CSV of filenames,labels (relative to shared_dir). Empty: the embeddings CSV's labels
    #: column, or else each image's folder name.
    labels: str = ""

    def validate(self) -> None:
        for key in ("initial", "per_round", "rounds", "seeds"):
            if getattr(self, key) < 1:
                raise ConfigError(f"evaluation.{key}", f"must be >= 1, got {getattr(self, key)}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError("evaluation.test_fraction", f"must lie in (0, 1), got {self.test_fraction}")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ConfigError("evaluation.methods", f"unknown method {unknown[0]!r}; known: {', '.join(METHODS)}")
        if "random" not in self.methods:
            raise ConfigError("evaluation.methods", "must include random: every method is measured against it")



def parse_arguments(args: list[str]) -> tuple[RunConfig, EvaluationConfig]:
    """Split ``evaluation.*`` keys from the run's keys and build both configs."""
    ours: dict[str, Any] = {}
    rest = []
    for arg in args:
        key, _, value = arg.partition("=")
        if key.strip().startswith("evaluation."):
            ours[key.strip()[len("evaluation."):]] = CliText(value)
        else:
            rest.append(arg)
    evaluation = build(EvaluationConfig, ours, "evaluation", dotted_keys(EvaluationConfig, "evaluation."))
    evaluation.validate()
    if not any(a.startswith("stopping_condition.") for a in rest):
        rest.append(f"stopping_condition.n_samples={evaluation.per_round}")
    return resolve(overrides=rest), evaluation


def selectors(config: RunConfig, evaluation: EvaluationConfig) -> dict[str, Selector]:
    """The methods to compare, each through the engine's own selection code (random aside)."""
    chosen: dict[str, Selector] = {}
    for method in evaluation.methods:
        if method == "random":
            chosen[method] = random_selector
            continue
        worker = dataclasses.replace(config.worker, method="coral" if method == "cold-start" else method,
                                     active_learning_score_column_name="")
        worker.active_learning = dataclasses.replace(worker.active_learning, task_name=TASK if method == "coral" else "")
        chosen[method] = engine_selector(from_legacy(worker))
    for name in evaluation.selection_configs:
        path = resolve_in(config.shared_dir, name, "evaluation.selection_configs")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(str(path), f"selection config cannot be read: {exc}") from None
        document = parse_json(data, str(path))  # depth and NaN/Infinity checked
        chosen[Path(name).stem] = engine_selector(parse_selection_config(document))
    return chosen


def read_labels(config: RunConfig, evaluation: EvaluationConfig, filenames: list[str]) -> pd.Series:
    """Label per filename, from evaluation.labels, the embeddings CSV, or the image folders."""
    if evaluation.labels:
        path = resolve_in(config.shared_dir, evaluation.labels, "evaluation.labels")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as exc:
            raise InputError(str(path), f"labels file cannot be read: {exc}") from None
        if not {"filenames", "labels"} <= set(frame.columns):
            raise InputError(str(path), f"needs the columns filenames,labels; it has {', '.join(frame.columns)}")
        twice = frame["filenames"].duplicated()
        if twice.any():
            row = int(np.flatnonzero(twice)[0])
            raise InputError(f"{path}, line {row + 2}", f"{frame['filenames'][row]!r} is listed twice")
        return frame.set_index("filenames")["labels"]
    if config.worker.embeddings:
        table = read_embeddings(resolve_in(config.shared_dir, config.worker.embeddings, "embeddings"))
        if len(np.unique(table.labels)) > 1:
            return pd.Series(table.labels, index=table.filenames)
    folders = [posixpath.dirname(name).split("/")[0] for name in filenames]
    if all(folders) and len(set(folders)) > 1:
        return pd.Series(folders, index=filenames)
    raise ConfigError(
        "evaluation.labels",
        "no labels found: give a CSV of filenames,labels, an embeddings CSV with a labels column, "
        "or images in one folder per class",
    )


def _display_name(entry: str) -> str:
    return "random weights" if entry == "random" else Path(entry).name


def embedding_entries(config: RunConfig, evaluation: EvaluationConfig) -> list[str]:
    """What to embed with: evaluation.embeddings, else what a run with these keys would use."""
    if evaluation.embeddings:
        return evaluation.embeddings
    return [config.worker.embeddings or config.worker.checkpoint or "random"]


def load_embeddings(
    entry: str, config: RunConfig, source: Source | None, filenames: list[str], reporter: Reporter
) -> tuple[list[str], np.ndarray]:
    """(filenames, embeddings (N, D)) of one entry: an embeddings CSV, or the model (random
    weights or a checkpoint) run over the images, exactly as a run embeds them; images that
    cannot be decoded are left out, with a warning naming them."""
    key = "evaluation.embeddings"
    if entry.endswith(".csv"):
        table = read_embeddings(resolve_in(config.shared_dir, entry, key))
        names, vectors = table.filenames, table.embeddings
    else:
        if source is None:
            raise ConfigError("input_dir", f"is required to embed the images with {_display_name(entry)}")
        from ..embedding.checkpoints import load_checkpoint
        from ..embedding.inference import device_for
        from ..embedding.model import build_model
        from ..embedding.stage import compute_embeddings

        if entry == "random":
            model = build_model(config.lightly.model, seed=config.worker.seed)
        else:
            model, _ = load_checkpoint(resolve_in(config.shared_dir, entry, key), config.lightly, seed=config.worker.seed)
        reporter.log(f"Embedding {len(filenames)} images with {config.lightly.model.name} ({_display_name(entry)}).")
        device = device_for(config.lightly.trainer.gpus)
        unreadable: dict[str, str] = {}
        vectors, _ = compute_embeddings(model, config, source, filenames, device, reporter, unreadable=unreadable)
        names = filenames
        if unreadable:
            reporter.log(f"Warning: {len(unreadable)} images cannot be decoded and are left out: "
                         + "; ".join(f"{name}: {reason}" for name, reason in sorted(unreadable.items())[:5]))
            keep = np.array([name not in unreadable for name in filenames])
            names, vectors = [name for name in filenames if name not in unreadable], vectors[keep]
    return list(names), normalize(vectors) if config.worker.normalize_embeddings else vectors


def evaluate(config: RunConfig, evaluation: EvaluationConfig, reporter: Reporter, source: Source | None = None) -> dict[str, Any]:
    """Run the loop for every embeddings entry and method; write and return the results.

    ``source``: the images (as ``pipeline.run`` takes it, e.g. the web app's S3 datasource with
    uploads on top); None reads ``config.input_dir``.
    """
    if not config.output_dir:
        raise ConfigError("output_dir", "is required: the folder where the evaluation is written")
    if source is None and config.input_dir:
        source = source_for_input_dir(config.input_dir)
    entries = embedding_entries(config, evaluation)
    if source is not None:
        filenames = source.list_images()
    else:
        csvs = [e for e in entries if e.endswith(".csv")]
        if not csvs:
            raise ConfigError("input_dir", "is required unless evaluation.embeddings names embeddings CSVs only")
        filenames = read_embeddings(resolve_in(config.shared_dir, csvs[0], "evaluation.embeddings")).filenames
    labels = read_labels(config, evaluation, filenames)
    loaded = {_display_name(e): load_embeddings(e, config, source, filenames, reporter) for e in entries}
    common = set(labels.index)
    for names, _ in loaded.values():
        common &= set(names)
    common_names = sorted(common)
    check_labels(labels.loc[common_names], evaluation)
    chosen = selectors(config, evaluation)
    reporter.log(
        f"Simulating {evaluation.rounds} rounds of {evaluation.per_round} labels after {evaluation.initial} random ones, "
        f"{evaluation.seeds} seeds, on {len(common_names)} labeled samples ({labels.loc[common_names].nunique()} classes): "
        f"{', '.join(chosen)}."
    )
    from tqdm import tqdm

    total = len(loaded) * evaluation.seeds * len(chosen) * (evaluation.rounds + 1)
    frames = []
    done = 0
    with tqdm(total=total, desc="Rounds", disable=not reporter.show_bars, file=sys.stderr) as bar:
        def advance() -> None:
            nonlocal done  # not bar.n: a disabled bar (the web app's) does not count
            done += 1
            bar.update(1)
            reporter.progress(done, total, "Simulated labeling rounds")

        for name, (names, vectors) in loaded.items():
            position = {f: i for i, f in enumerate(names)}
            rows = np.array([position[f] for f in common_names])
            frame = simulate(vectors[rows], labels.loc[common_names].to_numpy(), chosen, evaluation, on_round=advance)
            frames.append(frame.assign(embeddings=name))
    results = pd.concat(frames, ignore_index=True)
    return _write(config, evaluation, results, reporter)


def check_labels(labels: Iterable[Hashable], evaluation: EvaluationConfig) -> None:
    """Refuse labels (one per sample) the protocol cannot run on, naming ``evaluation.labels``:
    fewer than two classes, a class with a single sample (the stratified test split needs two),
    fewer test or pool samples than classes; then :func:`check_size`."""
    counts = pd.Series(list(labels)).value_counts()
    n = int(counts.sum())
    key = "evaluation.labels"
    if len(counts) < 2:
        raise ConfigError(
            key, f"all {n} labeled images have the same label ({counts.index[0]}): an evaluation needs at least two classes"
        )
    single = counts[counts < 2]
    if len(single):
        shown = ", ".join(map(str, single.index[:5])) + (" ..." if len(single) > 5 else "")
        several = len(single) > 1
        raise ConfigError(key, (
            f"{len(single)} class{'es' if several else ''} ha{'ve' if several else 's'} a single labeled image "
            f"({shown}): every class needs at least two (one to learn from, one to test on)"
        ))
    n_test = math.ceil(n * evaluation.test_fraction)
    if min(n_test, n - n_test) < len(counts):
        raise ConfigError(key, (
            f"{n} labeled images in {len(counts)} classes: the test split ({n_test} images) and the pool "
            f"({n - n_test}) each need one image per class at least; label more images or merge classes"
        ))
    check_size(n, evaluation)


def check_size(n: int, evaluation: EvaluationConfig) -> None:
    needed = evaluation.initial + evaluation.rounds * evaluation.per_round
    pool = n - math.ceil(evaluation.test_fraction * n)  # scikit-learn's size of the test split
    if pool < needed:
        raise ConfigError(
            "evaluation.rounds",
            f"{evaluation.initial} initial + {evaluation.rounds} rounds of {evaluation.per_round} labels need {needed} samples "
            f"outside the test split, but only {pool} of the {n} labeled samples are; use fewer or smaller rounds",
        )


def _write(config: RunConfig, evaluation: EvaluationConfig, results: pd.DataFrame, reporter: Reporter) -> dict[str, Any]:
    out = RunDirectory.create(config.output_dir, config.worker.run_directory)
    table = method_table(results)
    advice = recommendation(table)
    means = per_round(results).reset_index()
    from ..fileio import atomic_write

    with atomic_write(out / "accuracy.csv") as handle:
        results.to_csv(handle, index=False, float_format="%.6g")
    with atomic_write(out / "methods.csv") as handle:
        table.to_csv(handle, index=False, float_format="%.6g")
    plot(results, out / "accuracy.png")
    summary = {
        "protocol": {f.name: getattr(evaluation, f.name) for f in dataclasses.fields(Protocol)},
        "classifier": "logistic regression on standardised embeddings (scikit-learn)",
        "methods": table.to_dict(orient="records"),
        "per_round": means.to_dict(orient="records"),
        "paired_differences": paired_differences(results).to_dict(orient="records"),
        "recommendation": advice,
        "directory": str(out.path),
    }
    out.write_json("evaluation.json", summary)
    for line in text_table(table).splitlines():
        reporter.log(line)
    reporter.log(advice["text"])
    reporter.log(f"Evaluation written to {out.path} (accuracy.png, methods.csv, accuracy.csv, evaluation.json).")
    return summary
