"""User metadata from .lightly/metadata: schema, per-image values, defaults and errors."""

import json

import pytest

from selection_engine.errors import InputError
from selection_engine.formats.metadata import MetadataField, read_metadata, read_metadata_schema
from selection_engine.progress import Reporter
from selection_engine.sources import LocalSource, Source
from tests.factories import write_image

SCHEMA = [
    {"name": "temperature", "path": "weather.temperature", "defaultValue": -1.5, "valueDataType": "NUMERIC_FLOAT"},
    {"name": "count", "path": "count", "defaultValue": 0, "valueDataType": "NUMERIC_INT"},
    {"name": "camera", "path": "camera.id", "defaultValue": 7, "valueDataType": "CATEGORICAL_INT"},
    {"name": "scene", "path": "scene", "defaultValue": "unknown", "valueDataType": "CATEGORICAL_STRING"},
    {"name": "night", "path": "flags.night", "defaultValue": False, "valueDataType": "CATEGORICAL_BOOLEAN"},
]
IMAGES = ["a.png", "cats/0001.jpg", "cats/0002.png", "dogs/deep/x.png"]


def make_root(tmp_path, schema=SCHEMA, files=None, images=IMAGES):
    """Images plus .lightly/metadata with ``schema`` and ``files`` ({relpath: object or raw text})."""
    for seed, name in enumerate(images):
        write_image(tmp_path / name, seed=seed, size=(8, 8))
    folder = tmp_path / ".lightly/metadata"
    folder.mkdir(parents=True)
    if schema is not None:
        (folder / "schema.json").write_text(schema if isinstance(schema, str) else json.dumps(schema))
    for relpath, content in (files or {}).items():
        path = folder / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return LocalSource(tmp_path)


def schema_with(**changes):
    entry = {**SCHEMA[1], **changes}
    return [SCHEMA[0], entry]


def error_of(source, filenames=IMAGES) -> InputError:
    with pytest.raises(InputError) as info:
        read_metadata(source, filenames)
    return info.value


def test_schema_fields_in_file_order(tmp_path):
    source = make_root(tmp_path)
    fields = read_metadata_schema(source)
    assert [f.name for f in fields] == ["temperature", "count", "camera", "scene", "night"]
    assert fields[0] == MetadataField("temperature", "weather.temperature", -1.5, "NUMERIC_FLOAT")


def test_no_schema_gives_no_fields_and_a_filenames_column(tmp_path):
    source = make_root(tmp_path, schema=None)
    assert read_metadata_schema(source) == []
    fields, frame = read_metadata(source, IMAGES)
    assert fields == []
    assert list(frame.columns) == ["filenames"]
    assert list(frame["filenames"]) == IMAGES


def test_values_from_dotted_paths_defaults_for_missing_files_keys_and_null(tmp_path):
    files = {
        "cats/0001.json": {
            "weather": {"temperature": 21.5, "wind": 3},
            "count": 4,
            "camera": {"id": 2},
            "scene": "street",
            "flags": {"night": True},
            "unrelated": [1, 2, 3],
        },
        # An int is a valid NUMERIC_FLOAT; "camera" is absent and "scene" is null: defaults.
        "dogs/deep/x.json": {"weather": {"temperature": 30}, "scene": None, "flags": {}},
        "a.json": {},
    }
    source = make_root(tmp_path, files=files)
    order = ["dogs/deep/x.png", "cats/0002.png", "cats/0001.jpg", "a.png"]
    _, frame = read_metadata(source, order)
    assert list(frame["filenames"]) == order
    assert list(frame["temperature"]) == [30.0, -1.5, 21.5, -1.5]
    assert list(frame["count"]) == [0, 0, 4, 0]
    assert list(frame["camera"]) == [7, 7, 2, 7]
    assert list(frame["scene"]) == ["unknown", "unknown", "street", "unknown"]
    assert list(frame["night"]) == [False, False, True, False]


def test_column_dtypes_follow_the_value_type(tmp_path):
    source = make_root(tmp_path, files={"a.json": {"count": 3, "scene": "x"}})
    _, frame = read_metadata(source, IMAGES)
    assert {column: str(dtype) for column, dtype in frame.dtypes.items()} == {
        "filenames": "object",
        "temperature": "float64",
        "count": "int64",
        "camera": "int64",
        "scene": "object",
        "night": "bool",
    }


def test_progress_is_reported_per_file_read(tmp_path):
    calls = []
    reporter = Reporter(on_progress=lambda *args: calls.append(args), show_bars=False, min_interval=0)
    source = make_root(tmp_path, files={"a.json": {}, "cats/0001.json": {}})
    read_metadata(source, IMAGES, reporter=reporter)
    assert calls[-1][1:3] == (2, 2)


class RemoteLike(Source):
    """A source that is not on the local disk as far as the reader can tell (like S3)."""

    def __init__(self, local: LocalSource):
        self.local = local
        self.rejected = []

    label = "remote"

    def list_images(self):
        return self.local.list_images()

    def list_files(self, prefix):
        return self.local.list_files(prefix)

    def open(self, relpath):
        return self.local.open(relpath)

    def exists(self, relpath):
        return self.local.exists(relpath)

    def size(self, relpath):
        return self.local.size(relpath)


def test_remote_sources_are_read_in_parallel_with_the_same_result(tmp_path):
    images = [f"img/{i:03d}.png" for i in range(150)]  # more than one chunk of files
    files = {f"img/{i:03d}.json": {"count": i, "scene": f"s{i % 3}"} for i in range(0, 150, 2)}
    local = make_root(tmp_path, files=files, images=images)
    calls = []
    reporter = Reporter(on_progress=lambda *args: calls.append(args), show_bars=False, min_interval=0)
    _, remote_frame = read_metadata(RemoteLike(local), images, reporter=reporter)
    _, local_frame = read_metadata(local, images)
    assert list(remote_frame["count"]) == [i if i % 2 == 0 else 0 for i in range(150)]
    assert remote_frame.equals(local_frame)
    assert calls[-1][1:3] == (75, 75)


def test_remote_source_errors_name_the_bad_file(tmp_path):
    images = [f"img/{i:03d}.png" for i in range(100)]
    files = {f"img/{i:03d}.json": {"count": i} for i in range(100)}
    files["img/070.json"] = {"count": "seventy"}
    error = error_of(RemoteLike(make_root(tmp_path, files=files, images=images)), images)
    assert error.location == ".lightly/metadata/img/070.json"
    assert "field 'count'" in error.reason


def test_known_images_outside_the_run_are_skipped_not_errors(tmp_path):
    # relevant_filenames_file left cats/0001.jpg out: its (even broken) file is never read.
    source = make_root(tmp_path, files={"cats/0001.json": "{broken", "a.json": {"count": 9}})
    _, frame = read_metadata(source, ["a.png"], known_images=IMAGES)
    assert list(frame["count"]) == [9]


def test_non_json_files_in_the_metadata_folder_are_ignored(tmp_path):
    source = make_root(tmp_path, files={"README.md": "notes", "a.json": {"count": 1}})
    _, frame = read_metadata(source, IMAGES)
    assert list(frame["count"]) == [1, 0, 0, 0]


def test_metadata_files_without_a_schema(tmp_path):
    error = error_of(make_root(tmp_path, schema=None, files={"a.json": {"count": 1}}))
    assert error.location == ".lightly/metadata/schema.json"
    assert "missing" in error.reason and ".lightly/metadata/a.json" in error.reason


# --- schema errors ---------------------------------------------------------------------------


def test_schema_that_is_not_a_list(tmp_path):
    error = error_of(make_root(tmp_path, schema={"name": "x"}))
    assert error.location == ".lightly/metadata/schema.json"
    assert "expected a list" in error.reason


def test_schema_with_invalid_json_names_the_line(tmp_path):
    error = error_of(make_root(tmp_path, schema='[\n  {"name": "x",\n  }\n]'))
    assert error.location == ".lightly/metadata/schema.json, line 3"
    assert "invalid JSON" in error.reason


def test_entry_missing_a_key_names_entry_and_key(tmp_path):
    entry = {k: v for k, v in SCHEMA[1].items() if k != "defaultValue"}
    error = error_of(make_root(tmp_path, schema=[SCHEMA[0], entry]))
    assert error.location == ".lightly/metadata/schema.json, entry 1"
    assert "'defaultValue'" in error.reason


def test_misspelt_key_suggests_the_right_one(tmp_path):
    entry = {**SCHEMA[1], "defaultvalue": 0}
    error = error_of(make_root(tmp_path, schema=[entry]))
    assert error.location == ".lightly/metadata/schema.json, entry 0"
    assert "did you mean 'defaultValue'" in error.reason


def test_unknown_value_type_lists_the_valid_ones(tmp_path):
    error = error_of(make_root(tmp_path, schema=schema_with(valueDataType="NUMERIC")))
    assert error.location == ".lightly/metadata/schema.json, entry 1"
    for valid in ("NUMERIC_INT", "NUMERIC_FLOAT", "CATEGORICAL_INT", "CATEGORICAL_STRING", "CATEGORICAL_BOOLEAN"):
        assert valid in error.reason


def test_duplicate_names(tmp_path):
    error = error_of(make_root(tmp_path, schema=schema_with(name="temperature")))
    assert error.location == ".lightly/metadata/schema.json, entry 1"
    assert "duplicate name 'temperature'" in error.reason and "entry 0" in error.reason


@pytest.mark.parametrize("name", ["lightly.sharpness", "lightly.mine", "filenames"])
def test_reserved_names(tmp_path, name):
    error = error_of(make_root(tmp_path, schema=schema_with(name=name)))
    assert error.location == ".lightly/metadata/schema.json, entry 1"
    assert "reserved" in error.reason


@pytest.mark.parametrize("path", ["", "weather..temperature", 3])
def test_invalid_paths(tmp_path, path):
    error = error_of(make_root(tmp_path, schema=schema_with(path=path)))
    assert error.location == ".lightly/metadata/schema.json, entry 1"
    assert "path must be a dotted key" in error.reason


@pytest.mark.parametrize(
    "value_type, default",
    [
        ("NUMERIC_INT", 1.5),
        ("NUMERIC_INT", True),
        ("CATEGORICAL_INT", "3"),
        ("NUMERIC_FLOAT", "1.0"),
        ("NUMERIC_FLOAT", False),
        ("CATEGORICAL_STRING", 1),
        ("CATEGORICAL_BOOLEAN", 0),
        ("NUMERIC_INT", None),
    ],
)
def test_default_of_the_wrong_type(tmp_path, value_type, default):
    error = error_of(make_root(tmp_path, schema=schema_with(valueDataType=value_type, defaultValue=default)))
    assert error.location == ".lightly/metadata/schema.json, entry 1"
    assert f"defaultValue of 'count' does not match {value_type}" in error.reason


# --- per-image file errors -------------------------------------------------------------------


def test_invalid_json_in_an_image_file_names_file_and_line(tmp_path):
    error = error_of(make_root(tmp_path, files={"cats/0002.json": '{"count": 1,\n\n "scene": }'}))
    assert error.location == ".lightly/metadata/cats/0002.json, line 3"
    assert "invalid JSON" in error.reason


def test_image_file_that_is_not_an_object(tmp_path):
    error = error_of(make_root(tmp_path, files={"a.json": [1, 2]}))
    assert error.location == ".lightly/metadata/a.json"
    assert "expected a JSON object, got list" in error.reason


@pytest.mark.parametrize(
    "document, field",
    [
        ({"count": 2.5}, "count"),
        ({"count": True}, "count"),  # a bool is not an int, although Python says it is
        ({"count": "2"}, "count"),
        ({"weather": {"temperature": "warm"}}, "temperature"),
        ({"weather": {"temperature": True}}, "temperature"),
        ({"camera": {"id": 1.0}}, "camera"),
        ({"scene": 5}, "scene"),
        ({"flags": {"night": 1}}, "night"),
        ({"weather": {"temperature": {"c": 1}}}, "temperature"),
    ],
)
def test_value_of_the_wrong_type_names_file_and_field(tmp_path, document, field):
    error = error_of(make_root(tmp_path, files={"cats/0001.json": document}))
    assert error.location == ".lightly/metadata/cats/0001.json"
    assert f"field {field!r}" in error.reason


def test_non_finite_float_is_rejected(tmp_path):
    error = error_of(make_root(tmp_path, files={"a.json": '{"weather": {"temperature": NaN}}'}))
    assert error.location == ".lightly/metadata/a.json"
    assert "NaN is not a JSON number" in error.reason  # refused by the one JSON parser


def test_path_through_a_non_object_is_an_error(tmp_path):
    error = error_of(make_root(tmp_path, files={"a.json": {"weather": "sunny"}}))
    assert error.location == ".lightly/metadata/a.json"
    assert "'weather' is a string" in error.reason


def test_metadata_file_without_an_image(tmp_path):
    error = error_of(make_root(tmp_path, files={"a.json": {}, "cats/0003.json": {"count": 1}}))
    assert error.location == ".lightly/metadata/cats/0003.json"
    assert "image that does not exist" in error.reason and "cats/0003" in error.reason
