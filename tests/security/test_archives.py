"""Hostile prediction zips: bombs under the ratio cap, damaged data, headers that lie, encrypted or
unsupported entries. Each is a per-file rejection naming the entry, on the page and in the API,
and what the dataset stored before stays as it was (issue 14, cases 4 and 12)."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from selection_engine.errors import InputError
from selection_engine.formats.jsondoc import JSONFileError, max_file_bytes, read_json_file
from selection_engine.formats.metadata import read_metadata
from selection_engine.formats.predictions import load_predictions, read_task_names
from selection_engine.sources import LocalSource

from .conftest import TASK, upload

SCHEMA = json.dumps({"task_type": "classification", "categories": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}]})
CAP = 64 * 1024


def deflated(files: dict[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def padded(document: dict, size: int) -> bytes:
    """``document`` as JSON followed by whitespace up to exactly ``size`` bytes: valid JSON that
    deflates ~1000:1."""
    text = json.dumps(document).encode()
    return text + b" " * (size - len(text))


# Offsets inside the local (PK\3\4) and central (PK\1\2) headers of an entry.
_LOCAL = {"flags": 6, "method": 8, "crc": 14, "csize": 18, "usize": 22}
_CENTRAL = {"flags": 8, "method": 10, "crc": 16, "csize": 20, "usize": 24}
_WIDTH = {"flags": "<H", "method": "<H", "crc": "<I", "csize": "<I", "usize": "<I"}


def patched(data: bytes, entry: str, **fields: int) -> bytes:
    """``data`` with the named header fields of ``entry`` set to lie, in both of its headers."""
    out = bytearray(data)
    name = entry.encode()
    for signature, offsets, name_at in ((b"PK\x03\x04", _LOCAL, 30), (b"PK\x01\x02", _CENTRAL, 46)):
        start = 0
        while (at := out.find(signature, start)) >= 0:
            if out[at + name_at : at + name_at + len(name)] == name:
                for field, value in fields.items():
                    struct.pack_into(_WIDTH[field], out, at + offsets[field], value)
            start = at + 4
    return bytes(out)


def data_offset(data: bytes, entry: str) -> int:
    """Where ``entry``'s compressed data starts."""
    at = data.find(b"PK\x03\x04")
    while data[at + 30 : at + 30 + len(entry)] != entry.encode():
        at = data.find(b"PK\x03\x04", at + 4)
    name_length, extra_length = struct.unpack_from("<HH", data, at + 26)
    return at + 30 + name_length + extra_length


def stored_files(dataset) -> dict[str, bytes]:
    root = dataset.uploads_dir
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def refused(dataset, user, data: bytes, entry: str, *words: str) -> str:
    """Upload ``data``: it must be refused, naming ``entry``, with nothing stored changed."""
    before = stored_files(dataset)
    record = upload(dataset, user, data)
    assert not record.accepted, record.report
    message = " ".join(row["message"] for row in record.report if row["status"] == "error")
    assert entry in message, message
    for word in words:
        assert word in message, message
    assert stored_files(dataset) == before
    assert list(dataset.tasks.values_list("name", flat=True)) == [TASK]
    return message


@pytest.fixture
def one_image(images):
    _, names = images
    return names[0], names[0].rsplit(".", 1)[0]


# --- case 4: a file that inflates past the per-file cap ------------------------------------------


def test_the_per_file_limit_defaults_to_16_mb_and_is_an_operator_setting(monkeypatch, settings):
    monkeypatch.delenv("WINNOW_MAX_PREDICTION_FILE_MB", raising=False)
    assert max_file_bytes() == 16 * 2**20
    monkeypatch.setenv("WINNOW_MAX_PREDICTION_FILE_MB", "2.5")
    assert max_file_bytes() == int(2.5 * 2**20)
    monkeypatch.setenv("WINNOW_MAX_PREDICTION_FILE_MB", "lots")
    with pytest.raises(InputError, match="WINNOW_MAX_PREDICTION_FILE_MB: must be a number"):
        max_file_bytes()
    assert settings.MAX_PREDICTION_FILE_BYTES > 0


def test_a_whitespace_bomb_under_the_ratio_cap_is_refused_at_the_file_limit(dataset, alice, one_image, settings):
    """The issue's 2 GB of whitespace, scaled down: the cap lowered to 64 KB, the entry 1 MB."""
    settings.MAX_PREDICTION_FILE_BYTES = CAP
    image, stem = one_image
    entry = f"{TASK}/{stem}.json"
    bomb = padded({"file_name": image, "predictions": [{"category_id": 0}]}, 16 * CAP)
    data = deflated({f"{TASK}/schema.json": SCHEMA, entry: bomb})
    assert len(bomb) < settings.MAX_UPLOAD_BYTES * 20, "under the expansion cap: only the file limit stops it"
    refused(dataset, alice, data, entry, "WINNOW_MAX_PREDICTION_FILE_MB", "65,536 bytes")


def test_a_file_just_under_the_limit_is_accepted_and_one_byte_more_refused(dataset, alice, one_image, settings):
    settings.MAX_PREDICTION_FILE_BYTES = CAP
    image, stem = one_image
    entry = f"{TASK}/{stem}.json"
    document = {"file_name": image, "predictions": [{"category_id": 1, "probabilities": [0.25, 0.75]}]}
    refused(dataset, alice, deflated({f"{TASK}/schema.json": SCHEMA, entry: padded(document, CAP + 1)}), entry)
    record = upload(dataset, alice, deflated({f"{TASK}/schema.json": SCHEMA, entry: padded(document, CAP)}))
    assert record.accepted, record.report
    assert len((dataset.uploads_dir / f".lightly/predictions/{entry}").read_bytes()) == CAP


def test_a_bomb_whose_header_claims_a_small_size_is_refused(dataset, alice, one_image, settings):
    """The header says 100 bytes; the data inflates to 1 MB: stopped, never unpacked in full."""
    settings.MAX_PREDICTION_FILE_BYTES = CAP
    _, stem = one_image
    entry = f"{TASK}/{stem}.json"
    data = patched(deflated({f"{TASK}/schema.json": SCHEMA, entry: b" " * (16 * CAP)}), entry, usize=100)
    refused(dataset, alice, data, entry)


def test_a_metadata_bomb_is_refused_like_a_predictions_one(dataset, alice, one_image, settings):
    settings.MAX_PREDICTION_FILE_BYTES = CAP
    _, stem = one_image
    entry = f"metadata/{stem}.json"
    schema = json.dumps([{"name": "w", "path": "w", "defaultValue": "x", "valueDataType": "CATEGORICAL_STRING"}])
    refused(dataset, alice, deflated({"metadata/schema.json": schema, entry: padded({"w": "y"}, 4 * CAP)}), entry)


def test_a_nested_zip_is_stored_as_it_is_never_inflated(dataset, alice, settings):
    """A zip inside the zip is an opaque file: its bomb is never expanded, and the file limit
    still applies to its own size."""
    settings.MAX_PREDICTION_FILE_BYTES = CAP
    inner = deflated({"bomb.json": b" " * (64 * CAP)})
    assert len(inner) < CAP
    record = upload(dataset, alice, deflated({".lightly/metadata/inner.zip": inner}))
    assert record.accepted, record.report
    assert (dataset.uploads_dir / ".lightly/metadata/inner.zip").read_bytes() == inner


def test_the_api_refuses_a_bomb_with_400_naming_the_entry(alice_api, dataset, one_image, settings):
    settings.MAX_PREDICTION_FILE_BYTES = CAP
    _, stem = one_image
    entry = f"{TASK}/{stem}.json"
    data = deflated({f"{TASK}/schema.json": SCHEMA, entry: b" " * (4 * CAP)})
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/", {"file": SimpleUploadedFile("p.zip", data)},
                              format="multipart")
    assert response.status_code == 400
    assert entry in json.dumps(response.json()) and "WINNOW_MAX_PREDICTION_FILE_MB" in json.dumps(response.json())


# --- case 4: the engine's readers (the CLI reading a .lightly folder) ---------------------------


def lightly_folder(tmp_path, files: dict[str, bytes | str]) -> LocalSource:
    for relpath, content in files.items():
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return LocalSource(tmp_path)


class CountingSource(LocalSource):
    """Records how many bytes each read asks for."""

    def __init__(self, root):
        super().__init__(root)
        self.reads: list[int] = []

    def open(self, relpath):
        handle = super().open(relpath)
        read = handle.read

        def counted(n=-1):
            self.reads.append(n)
            return read(n)

        handle.read = counted
        return handle


def test_the_engine_refuses_an_oversize_file_without_reading_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WINNOW_MAX_PREDICTION_FILE_MB", "0.01")  # 10,485 bytes
    (tmp_path / ".lightly/predictions").mkdir(parents=True)
    (tmp_path / ".lightly/predictions/tasks.json").write_bytes(b"[" + b" " * 50_000 + b"]")
    source = CountingSource(tmp_path)
    with pytest.raises(InputError) as caught:
        read_task_names(source)
    assert caught.value.location == ".lightly/predictions/tasks.json"
    assert "WINNOW_MAX_PREDICTION_FILE_MB" in caught.value.reason
    assert source.reads == [], "the listed size is checked before anything is read"


def test_a_file_that_grows_after_listing_is_read_only_up_to_the_limit(tmp_path):
    source = CountingSource(tmp_path)
    (tmp_path / "doc.json").write_bytes(b"[]")
    source.size = lambda relpath: 2  # listed small, then grown
    (tmp_path / "doc.json").write_bytes(b"[" + b" " * 10_000 + b"]")
    with pytest.raises(JSONFileError, match=r"doc\.json: is too large"):
        read_json_file(source, "doc.json", max_bytes=1000)
    assert source.reads == [1001]


def test_an_oversize_prediction_file_is_a_problem_of_that_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WINNOW_MAX_PREDICTION_FILE_MB", "0.01")
    big = padded({"file_name": "a.png", "predictions": []}, 20_000)
    source = lightly_folder(tmp_path, {
        ".lightly/predictions/tasks.json": json.dumps(["t"]),
        ".lightly/predictions/t/schema.json": SCHEMA,
        ".lightly/predictions/t/a.json": big,
        ".lightly/predictions/t/b.json": json.dumps({"file_name": "b.png", "predictions": [{"category_id": 0}]}),
    })
    loaded = load_predictions(source, ["a.png", "b.png"])
    [problem] = loaded.problems
    assert problem.file == ".lightly/predictions/t/a.json" and "WINNOW_MAX_PREDICTION_FILE_MB" in problem.message
    assert loaded.coverage("t") == 1


def test_an_oversize_metadata_file_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WINNOW_MAX_PREDICTION_FILE_MB", "0.01")
    schema = json.dumps([{"name": "w", "path": "w", "defaultValue": "x", "valueDataType": "CATEGORICAL_STRING"}])
    source = lightly_folder(tmp_path, {".lightly/metadata/schema.json": schema,
                                       ".lightly/metadata/a.json": padded({"w": "y"}, 20_000)})
    with pytest.raises(InputError) as caught:
        read_metadata(source, ["a.png"])
    assert caught.value.location == ".lightly/metadata/a.json" and "20,000 bytes" in caught.value.reason


def test_prediction_and_metadata_files_go_through_the_one_json_parser(tmp_path):
    """NaN, Infinity and deep nesting are refused in prediction and metadata files as everywhere."""
    deep = "[" * 100_000 + "]" * 100_000
    source = lightly_folder(tmp_path, {
        ".lightly/predictions/tasks.json": json.dumps(["t"]),
        ".lightly/predictions/t/schema.json": SCHEMA,
        ".lightly/predictions/t/a.json": '{"file_name": "a.png", "predictions": [{"category_id": 0, "score": NaN}]}',
        ".lightly/predictions/t/b.json": deep,
        ".lightly/metadata/schema.json": json.dumps([{"name": "w", "path": "w", "defaultValue": 1.0,
                                                      "valueDataType": "NUMERIC_FLOAT"}]),
        ".lightly/metadata/a.json": '{"w": Infinity}',
    })
    problems = {p.file: p.message for p in load_predictions(source, ["a.png", "b.png"]).problems}
    assert "NaN is not a JSON number" in problems[".lightly/predictions/t/a.json"]
    assert "nests deeper" in problems[".lightly/predictions/t/b.json"]
    with pytest.raises(InputError, match=r"a\.json: invalid JSON: Infinity is not a JSON number"):
        read_metadata(source, ["a.png"])


# --- case 12: damaged archives ------------------------------------------------------------------


@pytest.fixture
def good_zip(one_image):
    image, stem = one_image
    entry = f"{TASK}/{stem}.json"
    document = json.dumps({"file_name": image, "predictions": [{"category_id": 0, "probabilities": [0.6, 0.4]}]} | {
        "note": "x" * 2000})
    return entry, deflated({f"{TASK}/schema.json": SCHEMA, entry: document})


def test_one_flipped_byte_in_the_deflated_data_is_a_rejection_naming_the_entry(dataset, alice, good_zip):
    entry, data = good_zip
    damaged = bytearray(data)
    damaged[data_offset(data, entry) + 40] ^= 0x01
    refused(dataset, alice, bytes(damaged), entry, "damaged")


def test_a_wrong_crc_is_a_rejection_naming_the_entry(dataset, alice, good_zip):
    entry, data = good_zip
    refused(dataset, alice, patched(data, entry, crc=0xDEADBEEF), entry, "damaged", "CRC")


def test_a_broken_deflate_stream_is_a_rejection(dataset, alice, good_zip):
    entry, data = good_zip
    damaged = bytearray(data)
    damaged[data_offset(data, entry)] = 0xFF  # block type 3: invalid (zlib.error)
    refused(dataset, alice, bytes(damaged), entry, "damaged")


def test_a_compressed_size_that_lies_is_a_rejection(dataset, alice, good_zip):
    entry, data = good_zip
    refused(dataset, alice, patched(data, entry, csize=20), entry, "damaged")  # the stream ends early (EOFError)


def test_an_uncompressed_size_that_lies_upward_is_a_rejection(dataset, alice, good_zip):
    entry, data = good_zip
    refused(dataset, alice, patched(data, entry, usize=1_000_000), entry)


def test_an_encrypted_entry_is_refused(dataset, alice, good_zip):
    entry, data = good_zip
    refused(dataset, alice, patched(data, entry, flags=0x1), entry, "encrypted")


def test_an_unsupported_compression_method_is_refused(dataset, alice, good_zip):
    entry, data = good_zip
    refused(dataset, alice, patched(data, entry, method=6), entry, "compression method 6 is not supported")


def test_a_truncated_zip_is_refused(dataset, alice, good_zip):
    _, data = good_zip
    before = stored_files(dataset)
    for cut in (len(data) // 2, len(data) - 10, 30):
        record = upload(dataset, alice, data[:cut])
        assert not record.accepted and "not a zip file" in record.report[0]["message"]
    assert stored_files(dataset) == before


def test_a_damaged_zip_is_a_rejection_on_the_page_not_a_500(alice_client, dataset, good_zip):
    entry, data = good_zip
    before = stored_files(dataset)
    response = alice_client.post(f"/datasets/{dataset.pk}/upload/",
                                 {"archive": SimpleUploadedFile("bad.zip", patched(data, entry, crc=1))}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Rejected" in page and entry in page
    assert stored_files(dataset) == before


def test_a_damaged_zip_is_400_in_the_api(alice_api, dataset, good_zip):
    entry, data = good_zip
    before = stored_files(dataset)
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/",
                              {"file": SimpleUploadedFile("bad.zip", patched(data, entry, crc=1))}, format="multipart")
    assert response.status_code == 400
    assert entry in response.json()["errors"]["bad.zip"]
    assert stored_files(dataset) == before


def test_random_damage_never_escapes_as_an_exception(dataset, alice, good_zip):
    """A small fuzz: every corruption of the archive is an accepted or refused upload."""
    import random

    _, data = good_zip
    rng = random.Random(14)
    before = stored_files(dataset)
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        record = upload(dataset, alice, bytes(damaged))
        if not record.accepted:
            assert stored_files(dataset) == before
        before = stored_files(dataset)
