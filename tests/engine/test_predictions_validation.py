"""Reading .lightly/predictions: every task type, and every kind of bad file reported by name."""

import json

import numpy as np
import pytest

from selection_engine import synthetic
from selection_engine.errors import InputError
from selection_engine.formats.predictions import load_predictions, rle_decode, rle_encode
from selection_engine.sources import LocalSource

TASKS = {
    "weather": "classification",
    "cars": "object-detection",
    "road": "semantic-segmentation",
    "pose": "keypoint-detection",
}


@pytest.fixture
def datasource(tmp_path):
    names = synthetic.write_images(tmp_path, 30, size=(48, 64))
    synthetic.write_predictions(tmp_path, names, TASKS, image_size=(48, 64), coverage=0.8, seed=1)
    return tmp_path, names


def put(root, task, stem, data):
    path = root / ".lightly/predictions" / task / f"{stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return f".lightly/predictions/{task}/{stem}.json"


def test_generated_predictions_of_all_task_types_load_cleanly(datasource):
    root, names = datasource
    loaded = load_predictions(LocalSource(root), names)
    assert loaded.problems == []
    assert {t: loaded.schemas[t].task_type for t in TASKS} == TASKS
    for task in TASKS:
        parsed = loaded.task(task, names)
        assert parsed.n_images == 30
        assert parsed.has_file.sum() == loaded.coverage(task) < 30  # coverage 0.8: some images lack a file
        assert (np.diff(parsed.image_index) >= 0).all()
        assert parsed.probabilities.shape[1] == 3
    assert loaded.task("cars", names).bbox.shape[1] == 4
    pose = loaded.task("pose", names)
    assert pose.keypoint_offsets[-1] == len(pose.keypoints) == 4 * len(pose.category_index)


CLS = "weather"


@pytest.mark.parametrize(
    "task, data, message",
    [
        (CLS, "{not json", "line 1: invalid JSON"),
        (CLS, {"file_name": "cats/00000.png"}, "expected an object"),
        (CLS, {"file_name": "cats/other.png", "predictions": []}, "file_name is 'cats/other.png', expected 'cats/00000.png'"),
        (CLS, {"file_name": "cats/00000.png", "predictions": [{"category_id": 7}]}, "category_id 7 is not in the schema (ids: [0, 1, 2])"),
        (CLS, {"file_name": "cats/00000.png", "predictions": [{"category_id": 0, "probabilities": [0.5, 0.5]}]},
         "probabilities has 2 entries, the schema has 3 categories"),
        (CLS, {"file_name": "cats/00000.png", "predictions": [{"category_id": 0, "probabilities": [0.5, 0.4, 0.2]}]},
         "must be finite, >= 0 and sum to 1 (sum is 1.1)"),
        ("cars", {"file_name": "cats/00000.png", "predictions": [{"category_id": 0, "bbox": [1, 2, 3], "score": 0.5}]},
         "bbox must be [x, y, w, h]"),
        ("cars", {"file_name": "cats/00000.png", "predictions": [{"category_id": 0, "bbox": [1, 2, 3, 4]}]},
         "score is required for object-detection"),
        ("cars", {"file_name": "cats/00000.png", "predictions": [{"category_id": 0, "bbox": [1, 2, 3, 4], "score": 1.5}]},
         "score must be a number in [0, 1]"),
        ("pose", {"file_name": "cats/00000.png", "predictions": [{"category_id": 0, "keypoints": [1, 2, 0.5, 3]}]},
         "keypoints must hold triples"),
        ("road", {"file_name": "cats/00000.png", "predictions": [{"category_id": 0, "segmentation": [10, 20], "score": 0.9}]},
         "segmentation run lengths sum to 30, the image has 64x48 = 3072 pixels"),
    ],
)
def test_each_bad_file_is_reported_with_its_path_and_reason(datasource, task, data, message):
    root, names = datasource
    path = put(root, task, "cats/00000", data)
    loaded = load_predictions(LocalSource(root), names)
    problems = {p.file: p.message for p in loaded.problems}
    assert path in problems
    assert message in problems[path]
    assert "cats/00000.png" not in loaded.files[task]  # the bad file never counts as valid


def test_predictions_for_files_that_do_not_exist_are_reported(datasource):
    root, names = datasource
    path = put(root, CLS, "cats/ghost", {"file_name": "cats/ghost.png", "predictions": []})
    problems = {p.file: p.message for p in load_predictions(LocalSource(root), names).problems}
    assert "no image cats/ghost.* exists" in problems[path]


def test_an_unknown_task_in_tasks_json_is_an_error(datasource):
    root, names = datasource
    (root / ".lightly/predictions/tasks.json").write_text(json.dumps(["weather", "nope"]))
    with pytest.raises(InputError, match=r"lists task 'nope' but \.lightly/predictions/nope/ does not exist"):
        load_predictions(LocalSource(root), names)


def test_a_missing_schema_is_an_error(datasource):
    root, names = datasource
    (root / ".lightly/predictions/cars/schema.json").unlink()
    with pytest.raises(InputError, match=r"cars/schema\.json: missing schema for task 'cars'"):
        load_predictions(LocalSource(root), names)


def test_a_wrong_task_type_is_an_error(datasource):
    root, names = datasource
    (root / ".lightly/predictions/cars/schema.json").write_text(json.dumps({"task_type": "detection", "categories": [{"id": 0, "name": "a"}]}))
    with pytest.raises(InputError, match="task_type must be one of classification, object-detection"):
        load_predictions(LocalSource(root), names)


def test_images_without_predictions_are_allowed_and_counted(tmp_path):
    names = synthetic.write_images(tmp_path, 10)
    synthetic.write_predictions(tmp_path, names, {"w": "classification"}, coverage=0.5, seed=3)
    loaded = load_predictions(LocalSource(tmp_path), names)
    assert loaded.problems == [] and 0 < loaded.coverage("w") < 10


def test_no_predictions_folder_means_no_tasks(tmp_path):
    names = synthetic.write_images(tmp_path, 3)
    loaded = load_predictions(LocalSource(tmp_path), names)
    assert loaded.schemas == {} and loaded.problems == []


def test_rle_round_trip_and_leading_ones():
    mask = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    counts = rle_encode(mask)
    assert counts == [0, 2, 2, 2]
    np.testing.assert_array_equal(rle_decode(counts, 2, 3), mask)
    with pytest.raises(ValueError):
        rle_decode([1, 2], 2, 3)
