"""report.pdf: a cover with the headline numbers, then one page per figure with its caption.

Typeset with matplotlib's PDF backend (no extra dependency). Text is real PDF text, so the
report can be searched and its numbers checked against report.json; figures are embedded as
200-dpi images so they print sharply.
"""

from __future__ import annotations

import io
import json
import os
import textwrap
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from PIL import Image

from ..embedding.quality import describe as describe_quality
from ..fileio import atomic_write

A4 = (8.27, 11.69)
TITLE, BODY, SMALL = 18, 10.5, 8


class _Page:
    """A portrait A4 page written top to bottom."""

    def __init__(self) -> None:
        self.figure = Figure(figsize=A4)
        self.y = 0.95

    def text(self, text: str, size: float = BODY, weight: str = "normal", width: int = 95, gap: float = 0.006) -> None:
        for line in textwrap.wrap(text, width) or [""]:
            self.figure.text(0.07, self.y, line, fontsize=size, weight=weight, va="top", family="DejaVu Sans")
            self.y -= size / 72 / A4[1] * 1.45
        self.y -= gap

    def image(self, figure: Figure, max_height: float = 0.62) -> None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=200)
        picture = Image.open(io.BytesIO(buffer.getvalue()))
        aspect = picture.height / picture.width
        width = 0.86
        height = min(max_height, width * aspect * A4[0] / A4[1])
        width = height / aspect * A4[1] / A4[0]
        axes = self.figure.add_axes((0.07, self.y - height, width, height))
        axes.imshow(picture)
        axes.axis("off")
        self.y -= height + 0.015


def _cover(report: dict[str, Any]) -> _Page:
    job = report["job"]
    page = _Page()
    page.text("Winnow selection report", TITLE, "bold")
    page.text(f"Run {report.get('run_directory', '')}", SMALL)
    page.text(f"Started {job['started_at']}, finished {job['finished_at']} ({job['duration_s']} s)", SMALL, gap=0.02)
    lines = [
        ("Files seen", job["files_seen"]),
        ("Corrupt files", job["corrupt"]),
        ("Exact duplicates", job["duplicates"]),
        ("Candidates", job["candidates"]),
        ("Selected", job["selected"]),
        ("Removed", job["removed"]),
        ("Embedding dimension", job["embedding_dimension"]),
        ("Device", job["device"]),
        ("Stopped because", job["stop_reason"]),
    ]
    for label, value in lines:
        page.text(f"{label}: {value}", 12)
    page.y -= 0.02
    page.text("How the selection was made", 13, "bold")
    objectives = ", ".join(f"{o['label']} (strength {o['strength']})" for o in report["selection"]["objectives"])
    page.text(f"Strategies: {objectives}.")
    page.text(report["selection"]["weighing"])
    distances = report["statistics"]["distances"]
    page.y -= 0.02
    page.text("Coverage", 13, "bold")
    page.text(
        f"Median nearest-neighbour distance: {distances['before']['median']} over all samples, "
        f"{distances['after']['median']} within the selection (larger means more diverse)."
    )
    if job.get("training"):
        page.y -= 0.02
        page.text("Training", 13, "bold")
        for line in training_lines(job["training"]):
            page.text(line, weight="bold" if line.startswith("Warning") else "normal")
    return page


def training_lines(training: dict[str, Any]) -> list[str]:
    """What training did and its quality check, in sentences (the cover and the training page)."""
    losses = training["losses"]
    lines = [f"{len(losses)} epochs, NT-Xent loss {losses[0]:.4f} in the first, {losses[-1]:.4f} in the last."]
    quality = training.get("quality")
    if not quality:
        return lines
    lines.append(describe_quality(quality))
    if quality.get("embedded_with") == "starting weights":
        lines.append(
            "This run selected with the embeddings of the starting weights. The checkpoint holds the trained weights: "
            f"to select with them all the same, run again with checkpoint={training['checkpoint']}."
        )
    if quality.get("warning"):
        lines.append("Warning: " + quality["warning"])
    return lines


def _job_page(report: dict[str, Any]) -> _Page:
    page = _Page()
    page.text("Job", 14, "bold")
    for stage, seconds in report["job"]["stage_durations_s"].items():
        page.text(f"{stage}: {seconds} s")
    page.y -= 0.015
    page.text("Resolved configuration", 14, "bold")
    config = json.dumps(report["config"]["selection_config"], separators=(", ", ": "))
    page.text(f"selection_config: {config}", SMALL, width=120)
    worker = report["config"]["worker_config"]
    flat = ", ".join(f"{k}={v}" for k, v in worker.items() if not isinstance(v, dict))
    page.text(f"worker_config: {flat}", SMALL, width=120)
    lightly = report["config"]["lightly_config"]
    page.text("lightly_config: " + "; ".join(f"{k}: {json.dumps(v)}" for k, v in lightly.items()), SMALL, width=120)
    return page


def write_pdf(path: str | os.PathLike[str], report: dict[str, Any], drawn: list[tuple[str, str, Figure, str]]) -> None:
    """Cover, job page, then each drawn (section, caption, figure, _) on its own page."""
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        pdf.savefig(_cover(report).figure)
        pdf.savefig(_job_page(report).figure)
        for section, caption, figure, _ in drawn:
            page = _Page()
            page.text(section, 14, "bold")
            page.image(figure)
            page.text(caption)
            pdf.savefig(page.figure)
        info = pdf.infodict()
        info["Title"] = "Winnow selection report"
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
