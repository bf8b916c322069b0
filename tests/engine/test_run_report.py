"""report.json, plots/ and report.pdf of a run with predictions and training."""

import io
import json
import re

import pypdfium2
import pytest

from selection_engine import pipeline, synthetic
from selection_engine.config import resolve
from selection_engine.report import figures

TASKS = {"weather": "classification", "cars": "object-detection"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    names = synthetic.write_images(root / "images", 300, size=(48, 64), seed=11)
    synthetic.write_predictions(root / "images", names, TASKS, image_size=(48, 64), seed=12)
    config = resolve(overrides=[
        f"input_dir={root / 'images'}", f"output_dir={root / 'out'}", "run_directory=run",
        "method=coral", "active_learning.task_name=cars", "active_learning.score_name=uncertainty_entropy",
        "stopping_condition.n_samples=40", "enable_training=True", "lightly.trainer.max_epochs=2",
        "lightly.collate.input_size=32", "lightly.loader.num_workers=0", "lightly.loader.batch_size=32",
    ])
    log = io.StringIO()
    result = pipeline.run(config, show_bars=False, stream=log)
    return result.run_dir, log.getvalue()


def pdf_pages(path):
    document = pypdfium2.PdfDocument(str(path))
    return [document[i] for i in range(len(document))]


def test_report_json_holds_every_section(finished_run):
    run_dir, _ = finished_run
    report = json.loads((run_dir / "report.json").read_text())
    job = report["job"]
    assert job["files_seen"] == 300 and job["selected"] == 40 and job["removed"] == 260
    assert {"load", "training", "embeddings", "selection", "report"} <= set(job["stage_durations_s"])
    assert len(job["training"]["losses"]) == 2
    stats = report["statistics"]
    assert stats["distances"]["before"]["count"] == 300 and stats["distances"]["after"]["count"] == 40
    # the selection is spread out: its nearest neighbours are farther apart than the data's
    assert stats["distances"]["after"]["median"] > stats["distances"]["before"]["median"]
    assert set(stats["scores"]) == {f"weather/{s}" for s in ("uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy")} | {
        f"cars/{s}" for s in ("objectness_least_confidence", "object_frequency", "uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy")}
    entropy = stats["scores"]["cars/uncertainty_entropy"]
    assert entropy["selected"]["mean"] > entropy["all"]["mean"]  # coral favoured uncertain images
    assert stats["classes"]["cars"]["classes"] == ["car", "person", "bicycle"]
    assert sum(stats["classes"]["weather"]["before"]) == 300
    assert report["config"]["worker_config"]["method"] == "coral"


def test_plots_are_written(finished_run):
    run_dir, _ = finished_run
    plots = sorted(p.name for p in (run_dir / "plots").glob("*.png"))
    for expected in ["nearest_neighbour_distances.png", "embedding_map.png", "training_loss.png", "examples.png",
                     "class_balance_cars.png", "class_balance_weather.png", "scores_cars__uncertainty_entropy.png"]:
        assert expected in plots
    report = json.loads((run_dir / "report.json").read_text())
    assert sorted(p.rsplit("/", 1)[1] for p in report["plots"]) == plots


def test_pdf_renders_shows_every_section_and_matches_report_json(finished_run, tmp_path):
    run_dir, log = finished_run
    report = json.loads((run_dir / "report.json").read_text())
    pages = pdf_pages(run_dir / "report.pdf")
    assert len(pages) == 2 + len(report["plots"])  # cover, job page, one page per figure
    for i, page in enumerate(pages):
        image = page.render(scale=0.5).to_pil()
        image.save(tmp_path / f"page{i}.png")
        low, high = image.convert("L").getextrema()
        assert image.size[0] > 200 and high - low > 50  # not a blank page
    text = "\n".join(page.get_textpage().get_text_range() for page in pages)
    for heading in ["Winnow selection report", "Job", "Resolved configuration", "Distances", "Embedding map", "Scores",
                    "Class balance", "Training", "Examples"]:
        assert heading in text
    job = report["job"]
    for label, key in [("Files seen", "files_seen"), ("Corrupt files", "corrupt"), ("Exact duplicates", "duplicates"),
                       ("Selected", "selected"), ("Removed", "removed"), ("Embedding dimension", "embedding_dimension")]:
        assert re.search(rf"{label}: (\d+)", text).group(1) == str(job[key])
    distances = report["statistics"]["distances"]
    assert f"median {distances['before']['median']} over all samples" in text
    entropy = report["statistics"]["scores"]["cars/uncertainty_entropy"]
    assert f"mean {entropy['all']['mean']} over all samples, {entropy['selected']['mean']} over the selection" in text
    assert "Writing report to" in log


def test_a_failing_figure_is_left_out_and_named(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no ink")

    monkeypatch.setattr(figures, "draw_embedding_map", broken)
    names = synthetic.write_images(tmp_path / "images", 20, seed=3)
    config = resolve(overrides=[f"input_dir={tmp_path / 'images'}", f"output_dir={tmp_path / 'out'}", "run_directory=r",
                                "stopping_condition.n_samples=5", "lightly.loader.num_workers=0"])
    log = io.StringIO()
    result = pipeline.run(config, show_bars=False, stream=log)
    assert "Warning: figure embedding_map left out of the report: RuntimeError: no ink" in log.getvalue()
    assert not (result.run_dir / "plots/embedding_map.png").exists()
    assert (result.run_dir / "plots/nearest_neighbour_distances.png").exists()
    assert len(pdf_pages(result.run_dir / "report.pdf")) >= 3
    assert len(names) == 20
