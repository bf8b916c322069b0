"""Model predictions in the datasource format (SPEC §2.1), parsed into flat arrays.

One :class:`TaskPredictions` holds every prediction "singleton" of one task as flat numpy arrays,
so scorers can work without a Python loop per prediction.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from ..images import UnreadableImage, image_size
from .jsondoc import JSONFileError, read_json_file

if TYPE_CHECKING:
    from ..progress import Reporter
    from ..sources import Source

TASK_TYPES = ("classification", "object-detection", "semantic-segmentation", "keypoint-detection")


@dataclass
class TaskSchema:
    name: str
    task_type: str
    #: category ids and names in schema order; probability vectors follow this order.
    category_ids: list[int]
    category_names: list[str]

    @property
    def n_categories(self) -> int:
        return len(self.category_ids)


@dataclass
class TaskPredictions:
    """All predictions of one task over N images (the run's samples, in run order).

    P singletons in total. ``image_index`` (P,) int64 says which image each belongs to, sorted
    ascending. Fields a task type does not use are empty arrays.
    """

    schema: TaskSchema
    n_images: int
    #: (N,) bool: the image has a prediction file (possibly with an empty list).
    has_file: np.ndarray
    image_index: np.ndarray  # (P,) int64
    category_index: np.ndarray  # (P,) int64: position of category_id in the schema
    #: (P,) float64 detection/segmentation/keypoint score; nan where not given.
    score: np.ndarray
    #: (P, C) float64 probability vectors; rows of nan where not given (C = schema categories).
    probabilities: np.ndarray
    #: (P, 4) float64 [x, y, w, h] for object detection.
    bbox: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    #: (K, 3) float64 keypoints [x, y, confidence] of all singletons, with ``keypoint_offsets``
    #: (P + 1,) int64 so singleton p owns rows offsets[p]:offsets[p + 1].
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    keypoint_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def task_type(self) -> str:
        return self.schema.task_type


# --------------------------------------------------------------------------------------------
# Reading and validating the .lightly/predictions folder

PREDICTIONS_DIR = ".lightly/predictions"
PROBABILITY_TOLERANCE = 1e-3


@dataclass
class PredictionProblem:
    """One bad file (or task) with the reason; ``file`` is relative to the datasource root."""

    file: str
    task: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class _Parsed:
    """One prediction file's singletons as small arrays (see TaskPredictions for the fields)."""

    category_index: np.ndarray
    score: np.ndarray
    probabilities: np.ndarray
    bbox: np.ndarray
    keypoints: list[np.ndarray]


@dataclass
class LoadedPredictions:
    """Every valid prediction file of every task, keyed by image filename."""

    schemas: dict[str, TaskSchema]
    files: dict[str, dict[str, _Parsed]]  # task → image filename → parsed file
    problems: list[PredictionProblem]
    #: prediction files seen per task, valid or not
    n_files: dict[str, int]

    def coverage(self, task: str) -> int:
        return len(self.files.get(task, {}))

    def task_types(self) -> dict[str, str]:
        """{task name: task_type}, what :func:`~selection_engine.config.tasks.check_task_inputs` reads."""
        return {name: schema.task_type for name, schema in self.schemas.items()}

    def task(self, name: str, filenames: list[str]) -> TaskPredictions:
        """Assemble one task over ``filenames`` (in that order) as flat arrays."""
        schema = self.schemas[name]
        by_image = self.files.get(name, {})
        c = schema.n_categories
        parts = [(i, by_image[f]) for i, f in enumerate(filenames) if f in by_image]
        has_file = np.zeros(len(filenames), dtype=bool)
        has_file[[i for i, _ in parts]] = True
        counts = [len(p.category_index) for _, p in parts]
        keypoint_lists = [k for _, p in parts for k in p.keypoints]
        offsets = np.zeros(len(keypoint_lists) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(k) for k in keypoint_lists])
        return TaskPredictions(
            schema=schema,
            n_images=len(filenames),
            has_file=has_file,
            image_index=np.repeat(np.array([i for i, _ in parts], dtype=np.int64), counts),
            category_index=_concat([p.category_index for _, p in parts], (0,), np.int64),
            score=_concat([p.score for _, p in parts], (0,), np.float64),
            probabilities=_concat([p.probabilities for _, p in parts], (0, c), np.float64),
            bbox=_concat([p.bbox for _, p in parts], (0, 4), np.float64),
            keypoints=_concat(keypoint_lists, (0, 3), np.float64),
            keypoint_offsets=offsets,
        )


def _concat(arrays: Sequence[npt.NDArray[Any]], empty_shape: tuple[int, ...], dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(empty_shape, dtype=dtype)


class _Bad(Exception):
    """A validation failure inside one prediction file."""


def _read_json(source: Source, relpath: str) -> Any:
    try:
        return read_json_file(source, relpath)
    except JSONFileError as exc:  # the location is relpath, with ", line N" where there is one
        line = exc.location[len(relpath):].lstrip(", ")
        raise _Bad(f"{line}: {exc.reason}" if line else exc.reason) from None


def read_schema(source: Source, task: str) -> TaskSchema:
    """The task's ``schema.json``; raises InputError naming the file."""
    path = f"{PREDICTIONS_DIR}/{task}/schema.json"
    if not source.exists(path):
        raise InputError(path, f"missing schema for task {task!r}: every task folder needs a schema.json")
    try:
        data = _read_json(source, path)
    except _Bad as exc:
        raise InputError(path, str(exc)) from None
    if not isinstance(data, dict):
        raise InputError(path, "expected an object with task_type and categories")
    task_type = data.get("task_type")
    if task_type not in TASK_TYPES:
        raise InputError(path, f"task_type must be one of {', '.join(TASK_TYPES)}, got {task_type!r}")
    categories = data.get("categories")
    if not isinstance(categories, list) or not categories:
        raise InputError(path, "categories must be a non-empty list of {\"id\": int, \"name\": str}")
    ids, names = [], []
    for i, category in enumerate(categories):
        if not (isinstance(category, dict) and isinstance(category.get("id"), int) and not isinstance(category.get("id"), bool)
                and isinstance(category.get("name"), str)):
            raise InputError(path, f"categories[{i}] must be {{\"id\": int, \"name\": str}}, got {category!r}")
        if category["id"] in ids:
            raise InputError(path, f"categories[{i}]: duplicate id {category['id']}")
        ids.append(category["id"])
        names.append(category["name"])
    return TaskSchema(name=task, task_type=task_type, category_ids=ids, category_names=names)


def read_task_names(source: Source) -> list[str]:
    """Task names from ``tasks.json`` (empty when the datasource has no predictions)."""
    path = f"{PREDICTIONS_DIR}/tasks.json"
    if not source.exists(path):
        if source.list_files(PREDICTIONS_DIR):
            raise InputError(path, "missing: list the task names to use, e.g. [\"my-task\"]")
        return []
    try:
        data = _read_json(source, path)
    except _Bad as exc:
        raise InputError(path, str(exc)) from None
    if not isinstance(data, list) or not all(isinstance(t, str) and t for t in data):
        raise InputError(path, f"expected a list of task names, got {data!r}")
    for name in data:
        if "/" in name or name.startswith("."):
            raise InputError(path, f"task name {name!r} must be a plain folder name")
    return data


def _numbers(value: Any, i: int, field: str, shape_hint: str) -> list[float]:
    """``value`` if it is a list of numbers (bools are not numbers), else _Bad."""
    if not isinstance(value, list) or not all(type(v) in (int, float) for v in value):
        raise _Bad(f"predictions[{i}].{field} must be a list of numbers {shape_hint}, got {value!r:.80}")
    return value


def _first_bad_row(rows: npt.NDArray[np.integer[Any]], bad: npt.ArrayLike) -> int | None:
    hits = np.flatnonzero(bad)
    return int(rows[hits[0]]) if hits.size else None


def _parse_file(data: Any, schema: TaskSchema, image_name: str, image_size: Callable[[], tuple[int, int]]) -> _Parsed:
    """Check one file's singletons and return them as arrays.

    Per singleton only cheap type and length checks run in Python; value checks (finite, ranges,
    sums) run once per file on the stacked arrays: this loop runs for every file of a dataset.
    """
    if not isinstance(data, dict) or not isinstance(data.get("predictions"), list):
        raise _Bad("expected an object {\"file_name\": ..., \"predictions\": [...]}")
    if data.get("file_name") != image_name:
        raise _Bad(f"file_name is {data.get('file_name')!r}, expected {image_name!r}")
    task_type = schema.task_type
    c = schema.n_categories
    position = {cid: i for i, cid in enumerate(schema.category_ids)}
    needs_score = task_type in ("object-detection", "semantic-segmentation")
    categories: list[int] = []
    scores: list[float] = []
    prob_rows: list[int] = []
    probs: list[list[float]] = []
    boxes: list[list[float]] = []
    keypoints: list[npt.NDArray[np.float64]] = []
    for i, item in enumerate(data["predictions"]):
        if not isinstance(item, dict):
            raise _Bad(f"predictions[{i}] must be an object")
        category = item.get("category_id")
        if type(category) is not int or category not in position:
            raise _Bad(f"predictions[{i}]: category_id {category!r} is not in the schema (ids: {schema.category_ids})")
        categories.append(position[category])
        if "probabilities" in item:
            p = _numbers(item["probabilities"], i, "probabilities", "of the schema's length")
            if len(p) != c:
                raise _Bad(f"predictions[{i}].probabilities has {len(p)} entries, the schema has {c} categories")
            prob_rows.append(i)
            probs.append(p)
        score = item.get("score")
        if score is None:
            if needs_score:
                raise _Bad(f"predictions[{i}]: score is required for {task_type}")
            scores.append(np.nan)
        elif type(score) not in (int, float) or not 0 <= score <= 1:
            raise _Bad(f"predictions[{i}]: score must be a number in [0, 1], got {score!r}")
        else:
            scores.append(score)
        if task_type == "object-detection":
            box = _numbers(item.get("bbox"), i, "bbox", "[x, y, w, h]")
            if len(box) != 4 or box[2] < 0 or box[3] < 0:
                raise _Bad(f"predictions[{i}].bbox must be [x, y, w, h] with w, h >= 0, got {item.get('bbox')!r}")
            boxes.append(box)
        elif task_type == "semantic-segmentation":
            counts = item.get("segmentation")
            if not isinstance(counts, list) or not all(type(v) is int and v >= 0 for v in counts):
                raise _Bad(f"predictions[{i}].segmentation must be a list of non-negative run lengths")
            width, height = image_size()
            if sum(counts) != width * height:
                raise _Bad(
                    f"predictions[{i}].segmentation run lengths sum to {sum(counts)}, "
                    f"the image has {width}x{height} = {width * height} pixels"
                )
        elif task_type == "keypoint-detection":
            numbers = _numbers(item.get("keypoints"), i, "keypoints", "[x1, y1, c1, ...]")
            if len(numbers) == 0 or len(numbers) % 3:
                raise _Bad(f"predictions[{i}].keypoints must hold triples [x, y, confidence], got {len(numbers)} numbers")
            points = np.asarray(numbers, dtype=np.float64).reshape(-1, 3)
            if not np.isfinite(points).all() or ((points[:, 2] < 0) | (points[:, 2] > 1)).any():
                raise _Bad(f"predictions[{i}].keypoints must be finite with confidences in [0, 1]")
            keypoints.append(points)
    n = len(categories)
    probabilities = np.full((n, c), np.nan)
    if probs:
        given = np.asarray(probs, dtype=np.float64)
        sums = given.sum(axis=1)
        bad = ~np.isfinite(given).all(axis=1) | (given < 0).any(axis=1) | (np.abs(sums - 1) > PROBABILITY_TOLERANCE)
        row = _first_bad_row(np.asarray(prob_rows), bad)
        if row is not None:
            raise _Bad(
                f"predictions[{row}].probabilities must be finite, >= 0 and sum to 1 (sum is {sums[prob_rows.index(row)]:.6g})"
            )
        probabilities[prob_rows] = given
    bbox = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    row = _first_bad_row(np.arange(len(bbox)), ~np.isfinite(bbox).all(axis=1))
    if row is not None:
        raise _Bad(f"predictions[{row}].bbox must hold finite numbers")
    return _Parsed(
        category_index=np.asarray(categories, dtype=np.int64),
        score=np.asarray(scores, dtype=np.float64),
        probabilities=probabilities,
        bbox=bbox,
        keypoints=keypoints,
    )


def load_predictions(
    source: Source,
    filenames: list[str],
    tasks: list[str] | None = None,
    reporter: Reporter | None = None,
    known_images: list[str] | None = None,
) -> LoadedPredictions:
    """Read and validate every task's prediction files for the images ``filenames``.

    ``known_images`` (default: ``filenames``) are all images of the datasource: a prediction file
    for one of them outside ``filenames`` (e.g. left out by relevant_filenames_file) is skipped,
    a file for no image at all is a problem. Task-level problems (tasks.json, a missing schema or
    unknown task_type) raise InputError. File-level problems are collected, never silently
    dropped: the caller decides to fail or skip.
    """
    names = read_task_names(source) if tasks is None else tasks
    wanted = set(filenames)
    by_stem: dict[str, list[str]] = {}
    for name in known_images if known_images is not None else filenames:
        by_stem.setdefault(posixpath.splitext(name)[0], []).append(name)
    schemas: dict[str, TaskSchema] = {}
    files: dict[str, dict[str, _Parsed]] = {}
    problems: list[PredictionProblem] = []
    n_files: dict[str, int] = {}
    for task in names:
        folder = f"{PREDICTIONS_DIR}/{task}"
        listed = source.list_files(folder)
        if not listed:
            raise InputError(f"{PREDICTIONS_DIR}/tasks.json", f"lists task {task!r} but {folder}/ does not exist")
        schema = read_schema(source, task)
        schemas[task] = schema
        paths = [
            p for p in listed
            if p.endswith(".json") and p != f"{folder}/schema.json"
            and not _only_unwanted(by_stem.get(p[len(folder) + 1 : -len(".json")]), wanted)
        ]
        n_files[task] = len(paths)

        parse = functools.partial(_parse_prediction, source, by_stem, folder, schema, task)
        parsed: dict[str, _Parsed] = {}
        # Parsing JSON holds the GIL: threads only pay off where reading waits on a network.
        with ThreadPoolExecutor(source.io_threads) as pool:
            results = pool.map(parse, paths) if source.io_threads > 1 else map(parse, paths)
            if reporter is not None:
                results = reporter.track(results, len(paths), f"Loading predictions of {task}")
            for outcome in results:
                if isinstance(outcome, PredictionProblem):
                    problems.append(outcome)
                else:
                    image, result = outcome
                    parsed[image] = result
        files[task] = parsed
    return LoadedPredictions(schemas=schemas, files=files, problems=problems, n_files=n_files)


def _parse_prediction(
    source: Source, by_stem: dict[str, list[str]], folder: str, schema: TaskSchema, task: str, path: str
) -> tuple[str, _Parsed] | PredictionProblem:
    """The prediction file ``path`` of ``task`` (in ``folder``): (its image, the parsed file), or its problem."""
    stem = path[len(folder) + 1 : -len(".json")]
    candidates = by_stem.get(stem, [])
    try:
        data = _read_json(source, path)
        claimed = data.get("file_name") if isinstance(data, dict) else None
        image = claimed if claimed in candidates else (candidates[0] if len(candidates) == 1 else None)
        if image is None:
            raise _Bad(f"no image {stem}.* exists in the datasource for this prediction file")
        return image, _parse_file(data, schema, image, lambda: _image_size(source, image))
    except _Bad as exc:
        return PredictionProblem(path, task, str(exc))


def _only_unwanted(images: list[str] | None, wanted: set[str]) -> bool:
    """True when the prediction file belongs to known images that are all outside this run."""
    if not images:
        return False
    return not any(image in wanted for image in images)


def _image_size(source: Source, name: str) -> tuple[int, int]:
    try:
        return image_size(source, name)
    except UnreadableImage as exc:
        raise _Bad(f"the image {name} cannot be read to check the segmentation's size: {exc.reason}") from None


def rle_decode(counts: list[int], height: int, width: int) -> np.ndarray:
    """Run-length counts (alternating 0s and 1s, starting with 0s, row-major) → bool (H, W)."""
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    if flat.size != height * width:
        raise ValueError(f"run lengths sum to {flat.size}, expected {height * width}")
    return flat.reshape(height, width)


def rle_encode(mask: np.ndarray) -> list[int]:
    """bool (H, W) → run-length counts starting with the count of leading 0s."""
    flat = np.asarray(mask, dtype=bool).ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs: list[int] = np.diff(bounds).tolist()
    return ([0] + runs) if flat.size and flat[0] else runs
