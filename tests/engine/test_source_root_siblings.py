"""A local source's root is a folder, not a string prefix: a sibling folder whose name starts with
the root's (``/data`` and ``/data-evil``) is outside it. A symlink into the sibling is skipped
while listing and refused when opened, exactly like any other way out; a run never reads it."""

import io
import os

import pytest

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.errors import UnsafePathError
from selection_engine.sources import LocalSource
from tests.factories import write_image


@pytest.fixture
def data_and_evil(tmp_path):
    """``data/`` with one image and two links into ``data-evil/`` (a file and a folder)."""
    data, evil = tmp_path / "data", tmp_path / "data-evil"
    write_image(data / "inside.png", seed=1)
    write_image(evil / "secret.png", seed=2)
    write_image(evil / "more/secret2.png", seed=3)
    os.symlink(evil / "secret.png", data / "link.png")
    os.symlink(evil / "more", data / "linked_folder")
    return data, evil


def test_links_into_a_sibling_with_the_roots_name_as_prefix_are_rejected(data_and_evil):
    data, _ = data_and_evil
    source = LocalSource(data)
    assert source.list_images() == ["inside.png"]
    rejected = dict(source.rejected)
    assert "symlink leads outside" in rejected["link.png"]
    assert "symlinked folder leads outside" in rejected["linked_folder"]
    for name in ("link.png", "linked_folder/secret2.png"):
        with pytest.raises(UnsafePathError, match="leading outside"):
            source.open(name)
        with pytest.raises(UnsafePathError, match="leading outside"):
            source.size(name)
    assert source.read_bytes("inside.png") == (data / "inside.png").read_bytes()


def test_a_run_on_the_root_never_selects_the_siblings_files(tmp_path, data_and_evil):
    data, _ = data_and_evil
    config = resolve(overrides=[f"input_dir={data}", f"output_dir={tmp_path / 'out'}", "stopping_condition.n_samples=5",
                                "lightly.loader.num_workers=0", "lightly.collate.input_size=32"])
    result = pipeline.run(config, show_bars=False, stream=io.StringIO())
    assert result.selected == ["inside.png"]
    assert {r["filename"] for r in result.report["job"]["rejected_paths"]} == {"link.png", "linked_folder"}
