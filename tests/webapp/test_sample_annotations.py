"""Predictions drawn on a sample: boxes, segmentation masks, keypoints, class probabilities."""

import base64
import io
import json

import numpy as np
from PIL import Image

from selection_engine.formats.predictions import rle_encode
from selection_engine.sources import LocalSource
from tests.factories import write_image
from webapp.gallery.annotations import sample_annotations


def lightly_task(root, task, task_type, predictions, categories=("car", "person")):
    folder = root / ".lightly/predictions" / task
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schema.json").write_text(json.dumps({"task_type": task_type, "categories": [{"id": i, "name": n} for i, n in enumerate(categories)]}))
    (folder / "img.json").write_text(json.dumps({"file_name": "img.png", "predictions": predictions}))


def test_every_task_type_becomes_something_to_draw(tmp_path):
    write_image(tmp_path / "img.png", seed=0, size=(20, 30))
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:10, 10:20] = True
    lightly_task(tmp_path, "det", "object-detection", [{"category_id": 1, "bbox": [2, 3, 10, 8], "score": 0.7}])
    lightly_task(tmp_path, "seg", "semantic-segmentation", [{"category_id": 0, "segmentation": rle_encode(mask), "score": 0.9}])
    lightly_task(tmp_path, "kp", "keypoint-detection", [{"category_id": 0, "keypoints": [1, 2, 0.9, 3, 4, 0.0], "score": 0.5}])
    lightly_task(tmp_path, "cls", "classification", [{"category_id": 1, "probabilities": [0.3, 0.7]}])
    (tmp_path / ".lightly/predictions/tasks.json").write_text(json.dumps(["det", "seg", "kp", "cls"]))

    found = {a.task: a for a in sample_annotations(LocalSource(tmp_path), "img.png", (30, 20))}
    box = found["det"].boxes[0]
    assert (box.x, box.y, box.w, box.h, box.label, box.score) == (2, 3, 10, 8, "person", 0.7)
    drawn = Image.open(io.BytesIO(base64.b64decode(found["seg"].masks[0].data_uri.split(",", 1)[1])))
    assert drawn.size == (30, 20)
    assert np.array_equal(np.asarray(drawn)[..., 3] > 0, mask)  # the mask is where the RLE says
    assert found["kp"].keypoints[0].points == [(1, 2, 0.9), (3, 4, 0.0)]
    assert found["cls"].classes == [("person", 0.7), ("car", 0.3)]


def test_images_without_prediction_files_draw_nothing(tmp_path):
    write_image(tmp_path / "img.png", seed=0, size=(20, 30))
    assert sample_annotations(LocalSource(tmp_path), "img.png", (30, 20)) == []
