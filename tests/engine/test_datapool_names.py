"""A datapool's name is a plain name (letters, digits, '.', '_', '-'; not starting with '.' or '-'),
never a path: a run with ``../x``, ``a/b`` or an absolute path as ``datapool.name`` fails with a
config error naming ``datapool.name`` when the config is resolved, before any run directory or
datapool is written, on the command line too."""

import io

import numpy as np
import pytest

from selection_engine import pipeline
from selection_engine.cli import main
from selection_engine.config import resolve
from selection_engine.errors import ConfigError
from tests.factories import write_embeddings_csv

ABSOLUTE = "<absolute>"  # an absolute path inside the test's own folder
BAD = ["../x", "..", "a/b", "x/../../escape", ABSOLUTE, "a\\b", ".hidden", "-dash", "a b", "x" * 129]
GOOD = ["cars", "pool_2024.v1-a", "A", "x" * 128]


@pytest.fixture
def shared(tmp_path):
    """A shared_dir holding an embeddings CSV of 12 samples: runs need no images."""
    folder = tmp_path / "base" / "shared"
    names = [f"img_{i:02d}.png" for i in range(12)]
    write_embeddings_csv(folder / "embeddings.csv", names, np.random.default_rng(0).standard_normal((12, 4)))
    return folder


def args(shared, name):
    return [f"shared_dir={shared}", f"output_dir={shared.parent / 'out'}", "embeddings=embeddings.csv",
            f"datapool.name={name}", "stopping_condition.n_samples=3"]


def written_files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", BAD)
def test_a_name_that_is_a_path_is_refused(shared, name):
    absolute = shared.parent.parent / "abs"
    name = str(absolute) if name == ABSOLUTE else name
    before = written_files(shared.parent)
    with pytest.raises(ConfigError) as caught:
        resolve(overrides=args(shared, name))
    assert caught.value.key == "datapool.name"
    assert "is not a valid name" in str(caught.value)
    assert written_files(shared.parent) == before, "no run directory, no datapool, inside shared_dir or out of it"
    assert not absolute.exists()


@pytest.mark.parametrize("name", GOOD)
def test_plain_names_are_accepted(shared, name):
    result = pipeline.run(resolve(overrides=args(shared, name)), show_bars=False, stream=io.StringIO())
    assert len(result.selected) == 3
    assert (shared / "datapools" / name / "datapool.npz").is_file()


@pytest.mark.parametrize("name", ["../x", "a/b", "x/../../escape"])
def test_the_cli_refuses_it_with_exit_status_2(shared, capsys, name):
    before = written_files(shared.parent)
    assert main(args(shared, name)) == 2
    assert "datapool.name" in capsys.readouterr().err
    assert written_files(shared.parent) == before
