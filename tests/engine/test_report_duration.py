"""report.pdf and report.json give the run's whole duration: drawing the report's figures is
part of the run, and the "report" stage counts it."""

import io
import json
import re
import time
from datetime import datetime

import pypdfium2

from selection_engine import pipeline, synthetic
from selection_engine.config import resolve
from selection_engine.report import figures

SLOW_DRAWING_S = 1.5


def test_the_duration_covers_drawing_the_figures(tmp_path, monkeypatch):
    draw = figures.draw_distance_histogram

    def slow_draw(*args, **kwargs):
        time.sleep(SLOW_DRAWING_S)
        return draw(*args, **kwargs)

    monkeypatch.setattr(figures, "draw_distance_histogram", slow_draw)
    names = synthetic.write_images(tmp_path / "images", 30, size=(32, 32), seed=3)
    assert len(names) == 30
    config = resolve(overrides=[
        f"input_dir={tmp_path / 'images'}", f"output_dir={tmp_path / 'out'}", "run_directory=run",
        "method=coreset", "stopping_condition.n_samples=5",
        "lightly.collate.input_size=32", "lightly.loader.num_workers=0",
    ])
    began = datetime.now()
    result = pipeline.run(config, show_bars=False, stream=io.StringIO())
    ended = datetime.now()

    job = json.loads((result.run_dir / "report.json").read_text())["job"]
    assert job["stage_durations_s"]["report"] >= SLOW_DRAWING_S
    assert job["duration_s"] >= sum(job["stage_durations_s"].values()) - 0.05
    assert job["duration_s"] <= (ended - began).total_seconds()
    assert datetime.fromisoformat(job["finished_at"]) >= datetime.fromisoformat(job["started_at"])

    document = pypdfium2.PdfDocument(str(result.run_dir / "report.pdf"))
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert f"finished {job['finished_at']} ({job['duration_s']} s)" in " ".join(text.split())
    shown = re.search(r"report: ([\d.]+) s", text)
    assert shown and float(shown.group(1)) == job["stage_durations_s"]["report"]
