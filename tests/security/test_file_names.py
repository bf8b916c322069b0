"""File names no output could hold — bytes that are not UTF-8, a newline or carriage return, a
line separator, a path too long — are skipped and listed with the reason, and the run completes;
names with quotes, commas, spaces or accents go through every output unchanged (issue 14, case 8)."""

from __future__ import annotations

import io
import json
import os
import unicodedata

import pandas as pd
import pytest

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.errors import InputError
from selection_engine.sources import LocalSource, S3Source
from selection_engine.sources.base import MAX_NAME_BYTES, name_problem, printable
from tests.factories import image_folder, write_embeddings_csv, write_image

from .conftest import CORAL, SMALL_MODEL

NOT_UTF8 = "the file name is not valid UTF-8; rename the file"


def run(tmp_path, root, *args):
    log = io.StringIO()
    config = resolve(overrides=[f"output_dir={tmp_path / 'out'}", f"input_dir={root}", "lightly.collate.input_size=32",
                                "lightly.loader.num_workers=0", *args])
    return pipeline.run(config, show_bars=False, stream=log), log.getvalue()


def put_image(root, name: str | bytes, seed: int = 99) -> None:
    """An image at ``name`` (bytes for a name that is not UTF-8), written through the bytes API."""
    path = os.path.join(os.fsencode(root), name if isinstance(name, bytes) else os.fsencode(name))
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    staged = root / f".staged-{seed}.png"
    write_image(staged, seed=seed)
    os.rename(os.fsencode(staged), path)


def outputs_parse(run_dir) -> dict[str, list[str]]:
    """Every list of names the run wrote, read back as a user's tools would."""
    found = {}
    for csv in ("data/embeddings.csv", "data/selected_samples.csv", "removed_samples.csv", "data/metadata.csv"):
        found[csv] = pd.read_csv(run_dir / csv)["filenames"].tolist()
    for listing in ("filenames/sampled_filenames.txt", "filenames/removed_filenames.txt"):
        found[listing] = (run_dir / listing).read_text(encoding="utf-8").splitlines()
    json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return found


def test_a_name_that_is_not_utf8_is_skipped_listed_and_the_run_completes(tmp_path):
    root = tmp_path / "input"
    names = image_folder(root, n=8)
    put_image(root, b"bad\xff.png")
    put_image(root, b"cats/caf\xe9.png", seed=98)  # Latin-1, as an old camera or a Windows share writes it
    result, log = run(tmp_path, root, "stopping_condition.n_samples=3")
    report = json.loads((result.run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["job"]["rejected_paths"] == [
        {"filename": "bad\\xff.png", "reason": NOT_UTF8}, {"filename": "cats/caf\\xe9.png", "reason": NOT_UTF8}]
    assert "Warning: skipped bad\\xff.png: the file name is not valid UTF-8" in log
    assert report["job"]["files_seen"] == 8
    written = outputs_parse(result.run_dir)
    assert sorted(written["data/embeddings.csv"]) == names


def test_a_folder_whose_name_is_not_utf8_is_skipped_once_with_all_it_holds(tmp_path):
    root = tmp_path / "input"
    image_folder(root, n=4)
    put_image(root, b"bad\xffdir/one.png", seed=1)
    put_image(root, b"bad\xffdir/two.png", seed=2)
    source = LocalSource(root)
    assert len(source.list_images()) == 4
    assert source.rejected == [("bad\\xffdir", NOT_UTF8)]


@pytest.mark.parametrize("name, code", [("new\nline.png", "U+000A"), ("carriage\rreturn.png", "U+000D"),
                                        ("tab\there.png", "U+0009"), ("line\u2028sep.png", "U+2028"),
                                        ("next\x85line.png", "U+0085"), ("esc\x1b[31m.png", "U+001B")])
def test_a_name_with_a_control_character_or_line_break_is_skipped(tmp_path, name, code):
    root = tmp_path / "input"
    names = image_folder(root, n=6)
    put_image(root, f"cats/{name}")
    result, log = run(tmp_path, root, "stopping_condition.n_samples=1.0")
    [rejected] = json.loads((result.run_dir / "report.json").read_text(encoding="utf-8"))["job"]["rejected_paths"]
    assert rejected["filename"] == printable(f"cats/{name}") and "\n" not in rejected["filename"]
    assert code in rejected["reason"]
    written = outputs_parse(result.run_dir)
    assert sorted(written["filenames/sampled_filenames.txt"]) == names
    assert all(len(line.split("] ", 1)[0]) == 20 for line in log.splitlines()), "every log line starts with its time"


def test_names_with_quotes_commas_spaces_and_accents_survive_every_output(tmp_path):
    root = tmp_path / "input"
    odd = ['cats/a,"b".png', "cats/c'd.png", "cats/with space.png", "cats/caf\u00e9.png",
           "cats/" + unicodedata.normalize("NFD", "cafe\u0301 2.png"), "cats/日本.png", "cats/semi;colon.png",
           "cats/" + "x" * (MAX_NAME_BYTES - 4) + ".png"]
    for seed, name in enumerate(odd):
        put_image(root, name, seed=seed)
    names = sorted(odd)
    result, _log = run(tmp_path, root, "stopping_condition.n_samples=1.0")
    written = outputs_parse(result.run_dir)
    for listing in ("data/embeddings.csv", "data/selected_samples.csv", "data/metadata.csv",
                    "filenames/sampled_filenames.txt"):
        assert sorted(written[listing]) == names, listing
    assert json.loads((result.run_dir / "report.json").read_text(encoding="utf-8"))["job"]["rejected_paths"] == []


def test_a_path_too_long_for_the_web_app_is_skipped(tmp_path):
    root = tmp_path / "input"
    image_folder(root, n=4)
    deep = "/".join(["d" * 200] * 5) + "/too-deep.png"  # 1013 characters
    put_image(root, deep)
    source = LocalSource(root)
    assert len(source.list_images()) == 4
    [(name, reason)] = source.rejected
    assert len(name) > 1000 and "at most 1,000 are supported" in reason


def test_the_name_rule():
    assert name_problem("cats/ok.png") is None
    assert name_problem("cats/" + "x" * 251 + ".png") is None  # 255 bytes
    assert "256 bytes" in name_problem("cats/" + "x" * 252 + ".png")
    assert "bytes long" in name_problem("cats/" + "é" * 130 + ".png")  # 130 characters, 264 bytes
    assert name_problem("a\u00a0b.png") is None and name_problem("zero\u200bwidth.png") is None  # printable enough
    assert printable(os.fsdecode(b"\xff\xfe.png")) == "\\xff\\xfe.png"
    assert printable("a\nb\r.png") == "a\\nb\\r.png"


def test_s3_keys_follow_the_same_rule():
    """Keys are always str on S3, but can hold a newline or be longer than a local file name."""
    source = S3Source.__new__(S3Source)  # no bucket needed to sort keys
    source.prefix = "photos"
    rejected: list[tuple[str, str]] = []
    keys = [("photos/ok.png", 1), ("photos/new\nline.png", 2), ("photos/" + "k" * 300 + ".png", 3),
            ("photos/folder/", 0), ("photos/ta\tb.png", 4)]
    assert source._relpaths(keys, rejected) == [("ok.png", 1)]
    assert [name for name, _ in rejected] == ["new\\nline.png", "k" * 300 + ".png", "ta\\tb.png"]
    assert "U+000A" in rejected[0][1] and "304 bytes" in rejected[1][1]


def test_an_embeddings_csv_row_with_an_unusable_name_names_the_line(tmp_path):
    import numpy as np

    shared = tmp_path / "shared"
    write_embeddings_csv(shared / "emb.csv", ["a.png", "b\nc.png", "d.png"], np.eye(3, dtype=np.float32))
    config = resolve(overrides=[f"output_dir={tmp_path / 'out'}", f"shared_dir={shared}", "embeddings=emb.csv",
                                "stopping_condition.n_samples=1"])
    with pytest.raises(InputError) as caught:
        pipeline.run(config, show_bars=False, stream=io.StringIO())
    assert caught.value.location.endswith("emb.csv, line 3") and "U+000A" in caught.value.reason


def test_the_web_app_runs_a_dataset_with_such_names_and_lists_them(alice, alice_client, images, predictions_zip):
    from webapp.runs.services import schedule_run
    from webapp.runs.tasks import execute_run

    from .conftest import make_dataset, upload

    folder, _ = images
    put_image(folder, b"cats/bad\xff.png")
    put_image(folder, "cats/new\nline.png", seed=7)
    dataset = make_dataset(alice, folder)
    assert upload(dataset, alice, predictions_zip).accepted
    page = alice_client.post(f"/datasets/{dataset.pk}/test/", follow=True).content.decode()
    assert "Skipped 2 paths that cannot be used" in page and "cats/bad\\xff.png" in page and "cats/new\\nline.png" in page
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    assert execute_run(run.pk) == "completed", run.__class__.objects.get(pk=run.pk).error
    assert run.samples.count() == 24
