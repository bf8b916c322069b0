"""The run report: ``report.json`` (facts), ``plots/*.png`` (figures) and ``report.pdf``.

:func:`report_facts` computes the numbers, ``facts.run_report`` puts report.json together, and
:func:`write_report` draws and typesets the figures and writes both files. A figure that fails is
left out and named in the log: the report never fails the run.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from ..fileio import atomic_write
from ..progress import Reporter
from ..stages.rundir import RunDirectory
from . import figures
from .facts import class_facts, distance_facts, score_facts
from .pdf import training_lines, write_pdf

if TYPE_CHECKING:
    from ..selection.objectives import ClassCounts
    from ..sources import Source


@dataclass
class ReportInputs:
    """What the report reads, aligned to the N samples that reached selection."""

    filenames: list[str]
    embeddings: np.ndarray  # float32 (N, D), as used for selection
    selected: np.ndarray  # int64 (k,)
    nearest: np.ndarray  # int64 (N,) nearest selected sample
    nearest_distance: np.ndarray  # float64 (N,)
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    class_counts: dict[str, ClassCounts] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    n_example_images: int = 6
    seed: int = 0


def report_facts(inputs: ReportInputs) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the statistics sections of report.json, raw distances for the histograms)."""
    distances, raw = distance_facts(inputs.embeddings, inputs.selected, inputs.seed)
    facts = {
        "distances": distances,
        "scores": score_facts(inputs.scores, inputs.selected),
        "classes": class_facts(inputs.class_counts, inputs.selected),
    }
    return facts, raw


def write_report(
    run_dir: RunDirectory,
    report: dict[str, Any],
    inputs: ReportInputs,
    raw: dict[str, np.ndarray],
    source: Source | None,
    reporter: Reporter,
    finish: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Draw the figures and typeset report.pdf (``report["plots"]`` lists the plot files; [] when
    that fails), then write ``report`` to report.json.

    ``finish(report["job"])`` stamps the job's end: called once the figures are drawn, just
    before report.pdf is typeset, so the duration both files give covers the report's own work."""
    reporter.log(f"Writing report to {run_dir / 'report.pdf'}.")
    try:
        report["plots"] = write_figures_and_pdf(run_dir, report, inputs, raw, source, reporter, finish)
    except Exception as exc:  # the selection is done; a broken report must not lose it
        reporter.log(f"Warning: report.pdf could not be written: {type(exc).__name__}: {exc}")
        report["plots"] = []
        if finish is not None:
            finish(report["job"])
    run_dir.write_json("report.json", report)
    reporter.log(f"Report written to {run_dir / 'report.json'}")


def write_figures_and_pdf(
    run_dir: RunDirectory,
    report: dict[str, Any],
    inputs: ReportInputs,
    raw: dict[str, np.ndarray],
    source: Source | None,
    reporter: Reporter,
    finish: Callable[[dict[str, Any]], None] | None = None,
) -> list[str]:
    """Save every figure to plots/ and typeset report.pdf; returns the plot files written.
    ``finish``: see :func:`write_report`."""
    drawn: list[tuple[str, str, Figure, str]] = []  # (section, caption, figure, plot file)

    # ``draw`` is called without arguments; ``...`` admits the lambdas that bind loop variables as defaults.
    def attempt(name: str, section: str, caption: str, draw: Callable[..., Figure]) -> None:
        try:
            figure = draw()
        except Exception as exc:  # a broken figure must not cost the user the rest of the report
            reporter.log(f"Warning: figure {name} left out of the report: {type(exc).__name__}: {exc}")
            return
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        with atomic_write(run_dir / f"plots/{name}.png", "wb") as handle:
            handle.write(buffer.getvalue())
        drawn.append((section, caption, figure, f"plots/{name}.png"))

    distances = report["statistics"]["distances"]
    attempt(
        "nearest_neighbour_distances", "Distances",
        f"Nearest-neighbour distance: median {distances['before']['median']} over all samples, "
        f"{distances['after']['median']} within the selection"
        + (" (distances of a random sample of query points)" if distances["sampled"] else "") + ".",
        lambda: figures.draw_distance_histogram(raw["before"], raw["after"]),
    )
    for method in ["PCA", "UMAP"] if figures.umap_available() else ["PCA"]:
        attempt(
            "embedding_map" if method == "PCA" else "embedding_map_umap", "Embedding map",
            f"The embeddings projected to 2-D with {method}; selected samples in orange.",
            lambda method=method: figures.draw_embedding_map(
                figures.embedding_map(inputs.embeddings, method, inputs.seed), inputs.selected, method, inputs.seed
            ),
        )
    for name, stats in report["statistics"]["scores"].items():
        attempt(
            "scores_" + name.replace("/", "__"), "Scores",
            f"{name}: mean {stats['all']['mean']} over all samples, {stats['selected']['mean']} over the selection.",
            lambda name=name: figures.draw_score_histogram(name, inputs.scores[name], inputs.selected),
        )
    for task, stats in report["statistics"]["classes"].items():
        attempt(
            f"class_balance_{task}", "Class balance",
            f"Share of {task} objects per class, all samples vs the selection.",
            lambda stats=stats, task=task: figures.draw_class_balance(
                task, stats["classes"], stats["share_before"], stats["share_after"]
            ),
        )
    if inputs.losses:
        training = report["job"].get("training") or {"losses": inputs.losses}
        attempt(
            "training_loss", "Training", " ".join(training_lines(training)),
            lambda: figures.draw_training_loss(inputs.losses),
        )
    if inputs.n_example_images and source is not None:
        examples = figures.pick_examples(
            inputs.filenames, inputs.selected, inputs.nearest, inputs.nearest_distance, inputs.n_example_images
        )
        if examples:
            attempt(
                "examples", "Examples",
                "Retained samples (left) beside the closest samples that were not selected, with their distances.",
                lambda: figures.draw_examples(source, examples),
            )
    if finish is not None:
        finish(report["job"])
    write_pdf(run_dir / "report.pdf", report, drawn)
    return [path for *_, path in drawn]
