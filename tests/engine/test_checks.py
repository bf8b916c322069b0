"""Corruptness and exact-duplicate checks on the raw files."""

import shutil

from selection_engine.progress import Reporter
from selection_engine.sources import LocalSource
from selection_engine.stages.checks import find_corrupt, find_exact_duplicates
from tests.factories import write_image


def quiet():
    return Reporter(show_bars=False, stream=open("/dev/null", "w"))


def test_truncated_zero_byte_and_garbage_files_are_corrupt(tmp_path):
    good = write_image(tmp_path / "good.jpg", seed=1, size=(64, 64))
    write_image(tmp_path / "good.png", seed=2)
    (tmp_path / "truncated.jpg").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    png = (tmp_path / "good.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(png[: len(png) - 200])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "garbage.webp").write_bytes(b"this is not an image at all")
    source = LocalSource(tmp_path)
    corrupt = find_corrupt(source, source.list_images(), quiet())
    assert sorted(corrupt) == ["empty.png", "garbage.webp", "truncated.jpg", "truncated.png"]
    assert corrupt["empty.png"] == "empty file (0 bytes)"
    assert "truncated" in corrupt["truncated.jpg"]
    assert corrupt["garbage.webp"].startswith("cannot be decoded")


def test_exact_duplicates_keep_the_first_in_sorted_order(tmp_path):
    write_image(tmp_path / "b/original.png", seed=1)
    write_image(tmp_path / "c/other.png", seed=2)
    for copy in ("a/copy.png", "z/copy.png"):
        (tmp_path / copy).parent.mkdir()
        shutil.copy(tmp_path / "b/original.png", tmp_path / copy)
    source = LocalSource(tmp_path)
    duplicates = find_exact_duplicates(source, source.list_images(), quiet())
    assert duplicates == {"b/original.png": "a/copy.png", "z/copy.png": "a/copy.png"}


def test_the_corruptness_check_measures_the_computed_metadata_on_the_same_decode(tmp_path):
    from selection_engine.stages.checks import inspect_images
    from selection_engine.stages.image_metadata import compute_image_metadata, metadata_frame

    for i in range(4):
        write_image(tmp_path / f"{i}.png", seed=i, size=(20 + i, 30))
    (tmp_path / "bad.png").write_bytes(b"")
    source = LocalSource(tmp_path)
    names = source.list_images()
    corrupt, measured = inspect_images(source, names, quiet())
    assert list(corrupt) == ["bad.png"] and sorted(measured) == [f"{i}.png" for i in range(4)]
    good = [n for n in names if n != "bad.png"]
    together = metadata_frame(good, [measured[n] for n in good])
    separately = compute_image_metadata(source, good, quiet())
    assert together.equals(separately)
    assert together["lightly.height"].tolist() == [20, 21, 22, 23]
