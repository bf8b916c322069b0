"""Files that disappear while a run reads them (the datasource folder removed or moved mid-run):
the run fails with a message naming the file, never an internal error."""

from __future__ import annotations

import io
import shutil

import pytest

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.errors import InputError, MissingFile
from selection_engine.sources.local import LocalSource
from tests.factories import image_folder


class VanishingSource(LocalSource):
    """A local source whose folder is removed right after the run listed it."""

    def list_images(self) -> list[str]:
        names = super().list_images()
        shutil.rmtree(self.root)
        return names


def test_a_file_gone_from_the_folder_is_an_input_error_naming_it_and_still_a_file_not_found(tmp_path):
    names = image_folder(tmp_path / "images", n=4)
    source = LocalSource(tmp_path / "images")
    (tmp_path / "images" / names[0]).unlink()
    with pytest.raises(MissingFile) as raised:
        source.read_bytes(names[0])
    assert isinstance(raised.value, InputError) and isinstance(raised.value, FileNotFoundError)
    assert str(raised.value).startswith(f"{names[0]}: no such file in ")
    with pytest.raises(MissingFile):
        source.size(names[0])


@pytest.mark.parametrize("check", ["True", "False"])
def test_a_run_whose_folder_is_removed_mid_run_fails_naming_a_file(tmp_path, check):
    image_folder(tmp_path / "images", n=12)
    config = resolve(overrides=[f"input_dir={tmp_path / 'images'}", f"output_dir={tmp_path / 'out'}",
                                f"enable_corruptness_check={check}", "stopping_condition.n_samples=3",
                                "lightly.collate.input_size=32", "lightly.loader.num_workers=0"])
    with pytest.raises(InputError) as raised:
        pipeline.run(config, show_bars=False, stream=io.StringIO(), source=VanishingSource(tmp_path / "images"))
    assert "no such file in" in str(raised.value) and "folder is gone" in str(raised.value)
