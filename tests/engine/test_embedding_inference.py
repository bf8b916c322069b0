"""Embedding inference: decoding at reduced scale, the model lanes, and what embed_images returns."""

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from selection_engine.config.documents import Collate, Model
from selection_engine.embedding import build_model, embed_images
from selection_engine.embedding.decode import decode_rgb, resize_exact, resize_within
from selection_engine.embedding.inference import decode_for_model, in_lanes, lane_count, threads_per_lane
from selection_engine.embedding.transforms import EvalTransform
from selection_engine.errors import InputError
from selection_engine.progress import Reporter
from selection_engine.sources import LocalSource


def photo(width=256, height=192, seed=0) -> Image.Image:
    """Smooth colour gradients with noise: JPEG-like content whose scaled decodes are meaningful."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    channels = [np.sin(x / (20 + 7 * c) + seed) * np.cos(y / (15 + 5 * c)) for c in range(3)]
    pixels = (np.stack(channels, -1) * 100 + 128 + rng.normal(0, 8, (height, width, 3))).clip(0, 255)
    return Image.fromarray(pixels.astype(np.uint8))


def encoded(image: Image.Image, fmt="JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def pillow_draft(data: bytes, size: int) -> np.ndarray:
    """What Pillow makes of ``data`` when asked to decode at reduced scale for ``size``."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (size, size))
        return np.asarray(image.convert("RGB"))


def test_a_jpeg_is_decoded_at_a_quarter_scale_with_the_same_pixels_as_pillow():
    data = encoded(photo(256, 256), quality=90)
    pixels = decode_rgb(data, 64)
    assert pixels.dtype == torch.uint8 and pixels.shape == (3, 64, 64)
    assert np.array_equal(pixels.permute(1, 2, 0).numpy(), pillow_draft(data, 64))


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_jpegs_come_back_as_rgb_like_pillows(mode):
    data = encoded(photo(128, 128).convert(mode), quality=95)
    pixels = decode_rgb(data, 32).permute(1, 2, 0).numpy()
    assert pixels.shape == (32, 32, 3)
    assert np.array_equal(pixels, pillow_draft(data, 32))


def test_a_jpeg_is_never_decoded_below_the_size_asked_for():
    height, width = decode_rgb(encoded(photo(300, 200)), 64).shape[1:]
    assert (height, width) == (75, 113), "3/8 is the smallest scale keeping both sides >= 64"
    assert decode_rgb(encoded(photo(200, 120)), 64).shape[1:] == (120, 200), "1/2 would be too small: full size"


def test_other_formats_decode_at_full_size():
    image = photo(80, 60)
    pixels = decode_rgb(encoded(image, "PNG"), 32)
    assert np.array_equal(pixels.permute(1, 2, 0).numpy(), np.asarray(image))


def test_a_truncated_jpeg_is_an_error_naming_the_file():
    data = encoded(photo())
    with pytest.raises(InputError, match=r"cats/broken\.jpg: cannot be decoded"):
        decode_for_model("cats/broken.jpg", data[: len(data) // 2], 64)
    with pytest.raises(InputError, match=r"notes\.jpg: cannot be decoded"):
        decode_for_model("notes.jpg", b"not an image at all", 64)


def test_training_gives_the_reason_a_file_cannot_be_decoded_for_the_loop_to_leave_it_out(tmp_path):
    from selection_engine.embedding.training import _TwoViews
    from selection_engine.embedding.transforms import SimCLRViewTransform

    (tmp_path / "gone.jpg").write_bytes(encoded(photo())[:300])
    (tmp_path / "fine.jpg").write_bytes(encoded(photo()))
    views = _TwoViews(LocalSource(tmp_path), ["gone.jpg", "fine.jpg"], SimCLRViewTransform(Collate(input_size=32)), 32)
    view0, view1, index, reason = views[0]
    assert index == 0 and reason.startswith("cannot be decoded") and view0.shape == view1.shape == (3, 32, 32)
    assert views[1][2:] == (1, "")


def test_resize_exact_squashes_and_resize_within_keeps_the_aspect_ratio():
    pixels = torch.randint(0, 256, (3, 90, 160), dtype=torch.uint8)
    assert resize_exact(pixels, 32).shape == (3, 32, 32)
    assert resize_within(pixels, 80).shape == (3, 45, 80)
    assert resize_within(pixels, 200) is pixels
    square = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    assert resize_exact(square, 32) is square


def test_lanes_keep_the_order_and_pass_errors_on():
    def slow_square(i):
        threading.Event().wait(0.01 * (i % 3))  # later items often finish first
        return i * i

    assert list(in_lanes(slow_square, range(20), lanes=2)) == [i * i for i in range(20)]
    assert list(in_lanes(slow_square, range(5), lanes=1)) == [0, 1, 4, 9, 16]

    def fails_at_3(i):
        if i == 3:
            raise ValueError("item 3 is bad")
        return i

    results = in_lanes(fails_at_3, range(10), lanes=2)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="item 3 is bad"):
        next(results)


def test_lanes_share_the_threads_and_give_them_back():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert lane_count(torch.device("cpu")) == 2
        with pytest.raises(RuntimeError, match="inside"), threads_per_lane(2):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        assert lane_count(torch.device("cpu")) == 1
    finally:
        torch.set_num_threads(before)


def test_embed_images_matches_the_model_on_the_reference_transform_in_file_order(tmp_path):
    """Five batches of 64 over two lanes: every row is its own file's embedding, in order."""
    size = 32
    names = []
    for i in range(300):
        name = f"{'ab'[i % 2]}/{i:03d}.{'jpg' if i % 5 else 'png'}"  # some PNGs: the full-size path
        (tmp_path / name).parent.mkdir(exist_ok=True)
        photo(48 + i % 17, 40, seed=i).save(tmp_path / name, quality=90)
        names.append(name)
    source = LocalSource(tmp_path)
    model = build_model(Model(num_ftrs=16))
    reporter = Reporter(show_bars=False, stream=io.StringIO())

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # two lanes on any machine, even a 1-core one
    try:
        assert lane_count(torch.device("cpu")) == 2
        embeddings, efficiency = embed_images(model, source, names, size, 16, 0, torch.device("cpu"), reporter)
    finally:
        torch.set_num_threads(before)

    reference = EvalTransform(size)
    with torch.inference_mode():
        expected = torch.cat([
            model(torch.stack([reference(decode_rgb(source.read_bytes(n), size)) for n in names[start : start + 50]]))
            for start in range(0, len(names), 50)
        ]).numpy()
    assert embeddings.shape == (300, 16) and embeddings.dtype == np.float32
    np.testing.assert_allclose(embeddings, expected, rtol=1e-4, atol=1e-4)
    assert 0 < efficiency <= 1


def test_the_gpu_loader_feeds_the_same_pixels_as_the_cpu_lanes(tmp_path):
    """Without a GPU here, at least its input path (loader worker processes) is checked."""
    from torch.utils.data import DataLoader

    from selection_engine.embedding.inference import _ImageFiles, decode_batch

    names = []
    for i in range(6):
        photo(96 + 16 * i, 80, seed=i).save(tmp_path / f"{i}.jpg", quality=90)
        names.append(f"{i}.jpg")
    source = LocalSource(tmp_path)
    loaded = next(iter(DataLoader(_ImageFiles(source, names, 32), batch_size=6, num_workers=2)))
    in_lanes_batch = decode_batch([(n, source.read_bytes(n)) for n in names], 32)
    assert loaded.shape == in_lanes_batch.shape == (6, 3, 32, 32)
    assert torch.equal(loaded, in_lanes_batch)
