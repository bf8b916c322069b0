"""Uploaded .lightly files seen together with the datasource's own."""

import json

import pytest

from selection_engine import synthetic
from selection_engine.errors import UnsafePathError
from selection_engine.formats.predictions import load_predictions
from selection_engine.sources import LocalSource, OverlaySource


@pytest.fixture
def overlay(tmp_path):
    base, uploads = tmp_path / "datasource", tmp_path / "uploads"
    names = synthetic.write_images(base, 10, seed=1)
    synthetic.write_predictions(base, names, {"weather": "classification"}, seed=2)
    synthetic.write_predictions(uploads, names, {"cars": "object-detection"}, seed=3)
    return OverlaySource(LocalSource(base), uploads), base, uploads, names


def test_images_come_from_the_datasource_and_tasks_from_both(overlay):
    source, base, _, names = overlay
    assert source.list_images() == names
    assert json.loads(source.read_bytes(".lightly/predictions/tasks.json")) == ["weather", "cars"]
    loaded = load_predictions(source, names)
    assert set(loaded.schemas) == {"weather", "cars"} and loaded.problems == []
    assert loaded.coverage("weather") == loaded.coverage("cars") == 10
    assert not (base / ".lightly/predictions/cars").exists()  # nothing written into the datasource


def test_an_uploaded_file_wins_over_the_datasource_copy(overlay):
    source, base, uploads, names = overlay
    path = ".lightly/predictions/weather/" + names[0].replace(".png", ".json")
    (uploads / path).parent.mkdir(parents=True, exist_ok=True)
    (uploads / path).write_text(json.dumps({"file_name": names[0], "predictions": []}))
    assert json.loads(source.read_bytes(path))["predictions"] == []
    assert json.loads((base / path).read_text())["predictions"] != []
    assert path in source.list_files(".lightly/predictions/weather")


def test_without_uploads_the_datasource_is_read_as_it_is(tmp_path):
    names = synthetic.write_images(tmp_path / "d", 3)
    source = OverlaySource(LocalSource(tmp_path / "d"), tmp_path / "no-uploads-yet")
    assert source.list_images() == names and source.list_files(".lightly") == []


def test_paths_leaving_the_root_are_refused(overlay):
    source, *_ = overlay
    with pytest.raises(UnsafePathError):
        source.open(".lightly/../../etc/passwd")
