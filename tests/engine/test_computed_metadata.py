"""The metadata Winnow computes per image: sharpness, SNR, file size and dimensions."""

import numpy as np
import pytest
from PIL import Image

from selection_engine.errors import InputError
from selection_engine.formats.metadata import MetadataField
from selection_engine.progress import Reporter
from selection_engine.sources import LocalSource
from selection_engine.stages.image_metadata import COMPUTED_FIELDS, compute_image_metadata, metadata_kinds
from tests.factories import write_image


def quiet(**kwargs):
    return Reporter(show_bars=False, stream=open("/dev/null", "w"), **kwargs)


def write_grey(path, pixels):
    """Save uint8 (H, W) losslessly as a PNG in mode L."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode="L").save(path)


def computed(tmp_path, names):
    return compute_image_metadata(LocalSource(tmp_path), names, quiet()).set_index("filenames")


def test_columns_order_and_dtypes(tmp_path):
    write_image(tmp_path / "b.png", seed=1)
    write_image(tmp_path / "a/c.jpg", seed=2)
    frame = compute_image_metadata(LocalSource(tmp_path), ["b.png", "a/c.jpg"], quiet())
    assert list(frame.columns) == ["filenames", *COMPUTED_FIELDS]
    assert list(frame["filenames"]) == ["b.png", "a/c.jpg"]
    assert [str(frame[c].dtype) for c in COMPUTED_FIELDS] == ["float64", "float64", "int64", "int64", "int64"]


def test_size_width_and_height_are_the_real_ones(tmp_path):
    names = ["wide.png", "tall.jpg", "sub/square.bmp"]
    for seed, (name, size) in enumerate(zip(names, [(10, 37), (41, 12), (16, 16)])):
        write_image(tmp_path / name, seed=seed, size=size)
    frame = computed(tmp_path, names)
    for name, (h, w) in zip(names, [(10, 37), (41, 12), (16, 16)]):
        assert frame.loc[name, "lightly.width"] == w
        assert frame.loc[name, "lightly.height"] == h
        assert frame.loc[name, "lightly.sizeInBytes"] == (tmp_path / name).stat().st_size


def test_constant_image_has_zero_sharpness_and_zero_snr(tmp_path):
    write_grey(tmp_path / "flat.png", np.full((20, 30), 130))
    frame = computed(tmp_path, ["flat.png"])
    assert frame.loc["flat.png", "lightly.sharpness"] == 0.0
    assert frame.loc["flat.png", "lightly.snr"] == 0.0  # std 0: defined as 0, not inf


def test_checkerboard_sharpness_matches_the_hand_computed_value(tmp_path):
    # Every interior pixel v has four neighbours 255 - v, so the Laplacian is ±1020; on the
    # 6x6 valid region half are each sign: mean 0, variance 1020² = 1040400.
    board = (np.indices((8, 8)).sum(axis=0) % 2) * 255
    write_grey(tmp_path / "board.png", board)
    assert computed(tmp_path, ["board.png"]).loc["board.png", "lightly.sharpness"] == pytest.approx(1040400.0)


def test_sharpness_ignores_borders_and_matches_a_naive_convolution(tmp_path):
    pixels = np.random.default_rng(3).integers(0, 256, size=(9, 13))
    write_grey(tmp_path / "noise.png", pixels)
    grey = pixels.astype(np.float64)
    naive = [
        grey[y - 1, x] + grey[y + 1, x] + grey[y, x - 1] + grey[y, x + 1] - 4 * grey[y, x]
        for y in range(1, 8)
        for x in range(1, 12)
    ]
    assert computed(tmp_path, ["noise.png"]).loc["noise.png", "lightly.sharpness"] == pytest.approx(np.var(naive))


def test_a_single_edge_gives_known_sharpness(tmp_path):
    # Columns 0-1 are 0, columns 2-3 are 100: valid Laplacian columns are [100, -100] on 4 rows.
    write_grey(tmp_path / "edge.png", np.repeat([[0, 0, 100, 100]], 6, axis=0))
    assert computed(tmp_path, ["edge.png"]).loc["edge.png", "lightly.sharpness"] == pytest.approx(10000.0)


def test_snr_of_half_black_half_grey_is_one(tmp_path):
    pixels = np.zeros((10, 20))
    pixels[:, 10:] = 200  # mean 100, std 100
    write_grey(tmp_path / "half.png", pixels)
    assert computed(tmp_path, ["half.png"]).loc["half.png", "lightly.snr"] == pytest.approx(1.0)


def test_colour_images_are_measured_on_their_grey_conversion(tmp_path):
    rgb = np.zeros((10, 20, 3), dtype=np.uint8)
    rgb[:, 10:] = (255, 0, 0)  # PIL's L of pure red is 299*255/1000 ≈ 76
    Image.fromarray(rgb).save(tmp_path / "red.png")
    grey = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)
    assert grey.max() == 76
    frame = computed(tmp_path, ["red.png"])
    assert frame.loc["red.png", "lightly.snr"] == pytest.approx(grey.mean() / grey.std())


def test_tiny_image_has_zero_sharpness(tmp_path):
    write_grey(tmp_path / "line.png", [[0, 255, 0, 255]])
    assert computed(tmp_path, ["line.png"]).loc["line.png", "lightly.sharpness"] == 0.0


def test_progress_reaches_the_total(tmp_path):
    calls = []
    names = [f"{i}.png" for i in range(5)]
    for i, name in enumerate(names):
        write_image(tmp_path / name, seed=i, size=(4, 4))
    compute_image_metadata(LocalSource(tmp_path), names, quiet(on_progress=lambda *a: calls.append(a), min_interval=0))
    assert calls[-1][1:3] == (5, 5)


def test_undecodable_file_names_the_file(tmp_path):
    write_image(tmp_path / "good.png", seed=1)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError) as info:
        compute_image_metadata(LocalSource(tmp_path), ["good.png", "bad.png"], quiet())
    assert info.value.location == "bad.png"


def test_no_images_gives_an_empty_table_with_every_column(tmp_path):
    frame = compute_image_metadata(LocalSource(tmp_path), [], quiet())
    assert len(frame) == 0
    assert list(frame.columns) == ["filenames", *COMPUTED_FIELDS]


def test_metadata_kinds_split_numeric_and_categorical():
    fields = [
        MetadataField("t", "t", 0.0, "NUMERIC_FLOAT"),
        MetadataField("n", "n", 0, "NUMERIC_INT"),
        MetadataField("cam", "cam", 0, "CATEGORICAL_INT"),
        MetadataField("scene", "scene", "", "CATEGORICAL_STRING"),
        MetadataField("night", "night", False, "CATEGORICAL_BOOLEAN"),
    ]
    assert metadata_kinds(fields) == {
        "t": "numeric",
        "n": "numeric",
        "cam": "categorical",
        "scene": "categorical",
        "night": "categorical",
        **dict.fromkeys(COMPUTED_FIELDS, "numeric"),
    }
