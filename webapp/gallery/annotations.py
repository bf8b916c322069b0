"""A sample's predictions, ready to draw over its image: boxes, masks, keypoints, class scores.

Read from the dataset's prediction files (``.lightly/predictions/<task>/<image stem>.json``,
already validated by the engine on upload and at run time) through the engine's source, so
uploaded and datasource predictions look the same.
"""

from __future__ import annotations

import base64
import colorsys
import io
import posixpath
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from selection_engine.errors import WinnowError
from selection_engine.formats.jsondoc import read_json_file
from selection_engine.formats.predictions import (
    PREDICTIONS_DIR,
    read_schema,
    read_task_names,
    rle_decode,
)
from selection_engine.sources import Source


def color(index: int) -> str:
    """A distinct, readable colour per class index."""
    r, g, b = colorsys.hsv_to_rgb((index * 0.618033988749895) % 1, 0.75, 0.95)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float
    label: str
    score: float | None
    color: str


@dataclass
class Mask:
    data_uri: str  # a transparent PNG the size of the image
    label: str
    color: str


@dataclass
class Keypoints:
    points: list[tuple[float, float, float]]  # (x, y, confidence)
    label: str
    color: str


@dataclass
class TaskAnnotations:
    task: str
    task_type: str
    boxes: list[Box] = field(default_factory=list)
    masks: list[Mask] = field(default_factory=list)
    keypoints: list[Keypoints] = field(default_factory=list)
    #: Classification: (class, probability) sorted by probability; detections: their classes.
    classes: list[tuple[str, float | None]] = field(default_factory=list)


def _mask_png(mask: np.ndarray, hex_color: str) -> str:
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask] = [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)] + [110]
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def sample_annotations(source: Source, filename: str, size: tuple[int, int]) -> list[TaskAnnotations]:
    """Every task's predictions for ``filename``; ``size`` is the image's (width, height)."""
    found = []
    try:
        tasks = read_task_names(source)
    except WinnowError:
        return []
    stem = posixpath.splitext(filename)[0]
    for task in tasks:
        path = f"{PREDICTIONS_DIR}/{task}/{stem}.json"
        try:
            if not source.exists(path):
                continue
            schema = read_schema(source, task)
            data = read_json_file(source, path)
        except WinnowError:
            continue
        names = dict(zip(schema.category_ids, schema.category_names))
        index = {cid: i for i, cid in enumerate(schema.category_ids)}
        result = TaskAnnotations(task=task, task_type=schema.task_type)
        for item in data.get("predictions", []) if isinstance(data, dict) else []:
            cid = item.get("category_id")
            label, hue = names.get(cid, str(cid)), color(index.get(cid, 0))
            score = item.get("score")
            if schema.task_type == "classification":
                probabilities = item.get("probabilities")
                if probabilities:
                    result.classes = sorted(zip(schema.category_names, probabilities), key=lambda p: -p[1])[:5]
                else:
                    result.classes = [(label, score)]
            elif "bbox" in item and schema.task_type == "object-detection":
                x, y, w, h = item["bbox"]
                result.boxes.append(Box(x, y, w, h, label, score, hue))
                result.classes.append((label, score))
            elif "segmentation" in item:
                mask = rle_decode(item["segmentation"], size[1], size[0]).astype(bool)
                result.masks.append(Mask(_mask_png(mask, hue), label, hue))
                result.classes.append((label, score))
            elif "keypoints" in item:
                flat = item["keypoints"]
                points = [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat) - 2, 3)]
                result.keypoints.append(Keypoints(points, label, hue))
                result.classes.append((label, score))
        found.append(result)
    return found
