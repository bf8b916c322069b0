"""Decompression-bomb images (a 30000×30000 PNG of 74 bytes, and the same in GIF, JPEG, BMP and
TIFF headers) are undecodable files everywhere an image is opened: a corrupt-file reason naming the
pixels and the limit, a 404 thumbnail, a sample page without drawings, and a CLI run that skips
them with the corruptness check on or off (issue 14, case 5)."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.embedding.decode import decode_file
from selection_engine.formats.predictions import load_predictions
from selection_engine.images import UnreadableImage, image_size, open_image
from selection_engine.report.figures import _thumbnail
from selection_engine.sources import LocalSource
from selection_engine.stages.checks import inspect_image
from selection_engine.stages.image_metadata import measure_image
from tests.factories import image_folder

BOMB = "too many pixels (30000×30000; the limit is 89,478,485)"


# --- bombs, built from a small real image with its header's size rewritten ----------------------


def _small(fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (8, 8), 128).save(buffer, fmt)
    return buffer.getvalue()


def png(width: int, height: int) -> bytes:
    """The issue's bomb: an RGB PNG header over 1 KB of deflated zeros."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def gif(width: int, height: int) -> bytes:
    data = bytearray(_small("GIF", "P"))
    struct.pack_into("<HH", data, 6, width, height)  # the logical screen
    return bytes(data)


def jpeg(width: int, height: int) -> bytes:
    data = bytearray(_small("JPEG"))
    struct.pack_into(">HH", data, data.find(b"\xff\xc0") + 5, height, width)  # SOF0
    return bytes(data)


def bmp(width: int, height: int) -> bytes:
    data = bytearray(_small("BMP"))
    struct.pack_into("<ii", data, 18, width, height)
    return bytes(data)


def tiff(width: int, height: int) -> bytes:
    data = bytearray(_small("TIFF", "L"))
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for at in range(ifd + 2, ifd + 2 + 12 * count, 12):
        (tag,) = struct.unpack_from("<H", data, at)
        if tag in (256, 257):  # ImageWidth, ImageLength, written as LONG
            struct.pack_into("<HHII", data, at, tag, 4, 1, width if tag == 256 else height)
    return bytes(data)


SHAPES = {"png": png, "gif": gif, "jpg": jpeg, "bmp": bmp, "tif": tiff}


@pytest.fixture
def bombs(tmp_path):
    """A folder of 8 real images and one 30000×30000 bomb per format."""
    root = tmp_path / "input"
    image_folder(root, n=8)
    for ext, make in SHAPES.items():
        (root / f"bombs/bomb.{ext}").parent.mkdir(exist_ok=True)
        (root / f"bombs/bomb.{ext}").write_bytes(make(30000, 30000))
    return root


# --- the engine's readers ------------------------------------------------------------------------


@pytest.mark.parametrize("ext", SHAPES)
def test_every_bomb_shape_is_a_corrupt_file_with_the_pixels_and_the_limit(bombs, ext):
    assert len((bombs / f"bombs/bomb.{ext}").read_bytes()) < 1000
    assert inspect_image(LocalSource(bombs), f"bombs/bomb.{ext}") == (BOMB, None)


@pytest.mark.parametrize("ext", SHAPES)
def test_every_reader_refuses_a_bomb_with_the_same_reason(bombs, ext):
    source, name = LocalSource(bombs), f"bombs/bomb.{ext}"
    for read in (lambda: decode_file(name, source.read_bytes(name), 64), lambda: measure_image(source, name),
                 lambda: image_size(source, name)):
        with pytest.raises(UnreadableImage) as caught:
            read()
        assert (caught.value.location, caught.value.reason) == (name, BOMB)


def test_a_jpeg_bomb_is_refused_from_its_header_on_the_fast_decoding_path_too():
    with pytest.raises(UnreadableImage, match=r"huge.jpg: too many pixels \(65535×65535"):
        decode_file("huge.jpg", jpeg(65535, 65535), 64)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_images_pillow_only_warns_about_are_refused_too(tmp_path, monkeypatch):
    """Pillow raises above twice its limit and only warns between 1x and 2x; both are refused."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    for name, size in (("warned.png", (40, 40)), ("fine.png", (30, 30))):
        Image.new("RGB", size, 90).save(tmp_path / name)
    source = LocalSource(tmp_path)
    assert inspect_image(source, "warned.png")[0] == "too many pixels (40×40; the limit is 1,000)"
    assert inspect_image(source, "fine.png")[0] is None
    with open_image(source, "fine.png") as image:
        assert image.size == (30, 30)


def test_a_bomb_under_a_segmentation_is_a_problem_of_that_prediction_file(tmp_path):
    (tmp_path / "a.png").write_bytes(png(30000, 30000))
    folder = tmp_path / ".lightly/predictions"
    (folder / "seg").mkdir(parents=True)
    (folder / "tasks.json").write_text(json.dumps(["seg"]))
    (folder / "seg/schema.json").write_text(json.dumps({"task_type": "semantic-segmentation",
                                                        "categories": [{"id": 0, "name": "road"}]}))
    (folder / "seg/a.json").write_text(json.dumps({"file_name": "a.png", "predictions": [
        {"category_id": 0, "segmentation": [10, 20], "score": 0.9}]}))
    [problem] = load_predictions(LocalSource(tmp_path), ["a.png"]).problems
    assert problem.file == ".lightly/predictions/seg/a.json" and BOMB in problem.message


def test_the_reports_tile_of_a_bomb_is_a_grey_placeholder(bombs):
    tile = _thumbnail(LocalSource(bombs), "bombs/bomb.png", size=40)
    assert tile.shape == (40, 40, 3) and (tile == 200).all()


def test_embedding_records_a_bomb_and_goes_on(bombs):
    from selection_engine.embedding.inference import _ImageFiles, _noting_unreadable, decode_batch

    source = LocalSource(bombs)
    names = ["cats/0000.png", "bombs/bomb.png", "dogs/0001.png"]
    unreadable: dict[str, str] = {}
    batch = decode_batch([(n, source.read_bytes(n)) for n in names], 16, unreadable)
    assert unreadable == {"bombs/bomb.png": BOMB} and batch.shape == (3, 3, 16, 16) and batch[1].sum() == 0
    with pytest.raises(UnreadableImage):
        decode_batch([(n, source.read_bytes(n)) for n in names], 16)
    # the GPU path: loader workers hand back the reason with the (black) image
    import torch

    loader = torch.utils.data.DataLoader(_ImageFiles(source, names, 16, tolerant=True), batch_size=2)
    unreadable = {}
    images = list(_noting_unreadable(loader, names, 2, unreadable))
    assert unreadable == {"bombs/bomb.png": BOMB} and [len(b) for b in images] == [2, 1]


# --- whole runs from the CLI's entry point ---------------------------------------------------


def run(tmp_path, root, *args):
    log = io.StringIO()
    config = resolve(overrides=[f"output_dir={tmp_path / 'out'}", f"input_dir={root}", "stopping_condition.n_samples=3",
                                "lightly.collate.input_size=32", "lightly.loader.num_workers=0", *args])
    return pipeline.run(config, show_bars=False, stream=log), log.getvalue()


@pytest.mark.parametrize("check", ["True", "False"])
def test_a_run_skips_bombs_and_lists_them_as_corrupt(tmp_path, bombs, check):
    result, log = run(tmp_path, bombs, f"enable_corruptness_check={check}")
    run_dir = result.run_dir
    expected = sorted(f"bombs/bomb.{ext}" for ext in SHAPES)
    assert (run_dir / "filenames/corrupt_filenames.txt").read_text().split() == expected
    removed = pd.read_csv(run_dir / "removed_samples.csv").set_index("filenames")
    assert all(removed.loc[name, "reason"] == f"corrupt: {BOMB}" for name in expected)
    assert json.loads((run_dir / "report.json").read_text())["job"]["corrupt"] == len(expected)
    assert not set(expected) & set(pd.read_csv(run_dir / "data/embeddings.csv")["filenames"])
    metadata = pd.read_csv(run_dir / "data/metadata.csv")
    assert len(metadata) == 8 and (metadata["lightly.width"] == 64).all()
    if check == "False":
        assert f"Found {len(expected)} images that cannot be decoded" in log


def test_a_training_run_without_the_check_leaves_bombs_out(tmp_path, bombs):
    result, _log = run(tmp_path, bombs, "enable_corruptness_check=False", "enable_training=True",
                      "lightly.trainer.max_epochs=1", "lightly.loader.batch_size=4")
    assert (result.run_dir / "filenames/corrupt_filenames.txt").read_text().split() == sorted(
        f"bombs/bomb.{ext}" for ext in SHAPES)
    assert np.isfinite(json.loads((result.run_dir / "report.json").read_text())["job"]["training"]["losses"]).all()


def test_a_run_whose_every_image_is_a_bomb_fails_with_the_reason(tmp_path):
    root = tmp_path / "input"
    root.mkdir()
    (root / "bomb.png").write_bytes(png(30000, 30000))
    (root / "bomb2.png").write_bytes(png(30001, 30000))
    from selection_engine.errors import InputError

    with pytest.raises(InputError, match="none of the images can be decoded"):
        run(tmp_path, root, "enable_corruptness_check=False")


# --- the web app: thumbnails and the sample page -------------------------------------------------


def test_the_thumbnail_of_a_bomb_is_404_not_500(alice_client, dataset, images):
    folder, _ = images
    (folder / "cats/bomb.png").write_bytes(png(30000, 30000))
    response = alice_client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": "cats/bomb.png"})
    assert response.status_code == 404
    ok = alice_client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": "cats/00000.png"})
    assert ok.status_code == 200


def test_the_sample_page_of_a_bomb_shows_without_drawings(alice_client, completed_run, images):
    folder, _ = images
    sample = completed_run.samples.order_by("pk").first()
    (folder / sample.filename).write_bytes(png(30000, 30000))
    sample.metadata = {}  # no stored size: the page reads the file's header
    sample.save(update_fields=["metadata"])
    response = alice_client.get(f"/runs/{completed_run.pk}/samples/{sample.pk}/")
    assert response.status_code == 200
    assert sample.filename in response.content.decode()
    thumb = alice_client.get(f"/datasets/{completed_run.dataset_id}/thumbnail/", {"name": sample.filename, "size": 1024})
    assert thumb.status_code == 404
