"""Exact duplicates are files with identical bytes, all of them: two large images that agree on
their first MiB and differ after it are both kept; a byte-for-byte copy of a large image is
removed as a duplicate."""

import io
import shutil

import numpy as np
import pandas as pd
from PIL import Image

from selection_engine import pipeline
from selection_engine.config import resolve
from tests.factories import image_folder, write_embeddings_csv

MIB = 1 << 20


def large_bmps(root):
    """Two 640x640 BMPs (1.2 MB, uncompressed, stored bottom row first) that differ only in the
    image's top row, which is the end of the file."""
    pixels = (np.random.default_rng(0).random((640, 640, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(root / "big_a.bmp")
    pixels[0, :, :] = 255 - pixels[0, :, :]
    Image.fromarray(pixels).save(root / "big_b.bmp")
    return root / "big_a.bmp", root / "big_b.bmp"


def test_files_alike_in_their_first_mib_are_not_duplicates(tmp_path):
    root = tmp_path / "input"
    names = image_folder(root, n=6)
    a, b = large_bmps(root)
    first, second = a.read_bytes(), b.read_bytes()
    assert len(first) == len(second) > MIB + 4096
    assert first[:MIB] == second[:MIB] and first != second  # the case: alike up to 1 MiB, then not
    shutil.copy(a, root / "big_a_copy.bmp")  # a true duplicate, large too
    everything = sorted([*names, "big_a.bmp", "big_b.bmp", "big_a_copy.bmp"])
    write_embeddings_csv(tmp_path / "shared/embeddings.csv", everything, np.random.default_rng(1).standard_normal((len(everything), 4)))

    config = resolve(overrides=[f"input_dir={root}", f"shared_dir={tmp_path / 'shared'}", f"output_dir={tmp_path / 'out'}",
                                "embeddings=embeddings.csv", "stopping_condition.n_samples=1.0"])
    result = pipeline.run(config, show_bars=False, stream=io.StringIO())

    assert (result.run_dir / "filenames/duplicate_filenames.txt").read_text().split() == ["big_a_copy.bmp"]
    kept = pd.read_csv(result.run_dir / "data/embeddings.csv")["filenames"].tolist()
    assert "big_a.bmp" in kept and "big_b.bmp" in kept and "big_a_copy.bmp" not in kept
    assert {"big_a.bmp", "big_b.bmp"} <= set(result.selected)
    removed = pd.read_csv(result.run_dir / "removed_samples.csv").set_index("filenames")
    assert removed.loc["big_a_copy.bmp", "reason"] == "exact duplicate of big_a.bmp"
    assert "big_b.bmp" not in removed.index
    assert result.report["job"]["duplicates"] == 1
