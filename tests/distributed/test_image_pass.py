"""The image pass on a local Ray gives what the in-process stages give, from one read per image."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from selection_engine.config import resolve
from selection_engine.errors import ConfigError
from selection_engine.stages.plan import planned_stages
from tests.factories import write_embeddings_csv

from .conftest import mixed_folder, run

SAME_FILES = [
    "filenames/corrupt_filenames.txt",
    "filenames/duplicate_filenames.txt",
    "filenames/removed_filenames.txt",
    "filenames/sampled_filenames.txt",
    "removed_samples.csv",
    "data/metadata.csv",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return mixed_folder(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def in_process(folder, tmp_path_factory):
    """The coreset run of the folder without Ray (module-wide: the reference of every comparison)."""
    result, _log = run(tmp_path_factory.mktemp("out"), f"input_dir={folder}", "stopping_condition.n_samples=20")
    return result


def assert_same_run(ours, reference, embeddings_atol=1e-5):
    for name in SAME_FILES:
        assert (ours.run_dir / name).read_text() == (reference.run_dir / name).read_text(), name
    mine = pd.read_csv(ours.run_dir / "data/embeddings.csv")
    theirs = pd.read_csv(reference.run_dir / "data/embeddings.csv")
    assert mine["filenames"].tolist() == theirs["filenames"].tolist()
    columns = [c for c in theirs.columns if c.startswith("embedding")]
    np.testing.assert_allclose(mine[columns].to_numpy(), theirs[columns].to_numpy(), atol=embeddings_atol)
    assert ours.selected == reference.selected


def test_the_pass_gives_the_in_process_checks_metadata_embeddings_and_selection(ray_head, folder, in_process, tmp_path):
    result, log = run(tmp_path, f"input_dir={folder}", "stopping_condition.n_samples=20", f"ray_address={ray_head}")
    assert_same_run(result, in_process)
    corrupt = (result.run_dir / "filenames/corrupt_filenames.txt").read_text().split()
    assert corrupt == ["broken/empty.png", "broken/notes.jpg", "broken/truncated.jpg", "broken/truncated.png"]
    duplicates = (result.run_dir / "filenames/duplicate_filenames.txt").read_text().split()
    assert duplicates == ["zz-copy-of-0000.png", "zz-copy-of-003.jpg"]
    assert f"Image pass on the Ray cluster at {ray_head} (2 CPUs, 0 GPUs; 1 model actor on CPUs)" in log
    assert "Found 4 corrupt images." in log and "Found 2 exact duplicates." in log
    report = json.loads((result.run_dir / "report.json").read_text())
    stages = report["job"]["stage_durations_s"]
    assert "image_pass" in stages and not {"corruptness", "duplicates", "embeddings"} & set(stages)
    assert not (result.run_dir / "data/image_pass").exists(), "the shards are removed once read"


def test_two_actors_give_the_same_run(ray_head, folder, in_process, tmp_path, monkeypatch):
    from selection_engine.distributed import image_pass

    original = image_pass.image_pass
    monkeypatch.setattr(image_pass, "image_pass", lambda *args, **kwargs: original(*args, **kwargs, actors=2))
    result, log = run(tmp_path, f"input_dir={folder}", "stopping_condition.n_samples=20", f"ray_address={ray_head}")
    assert "2 model actors on CPUs" in log
    assert_same_run(result, in_process)


def test_with_an_embeddings_file_the_pass_checks_and_measures_only(ray_head, folder, tmp_path):
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    shared = tmp_path / "shared"
    write_embeddings_csv(shared / "embeddings.csv", names, np.random.default_rng(0).standard_normal((len(names), 8)))
    args = [f"input_dir={folder}", f"shared_dir={shared}", "embeddings=embeddings.csv", "stopping_condition.n_samples=10"]
    reference, _ = run(tmp_path / "in-process", *args)
    result, log = run(tmp_path / "ray", *args, f"ray_address={ray_head}")
    assert_same_run(result, reference, embeddings_atol=0)
    assert "Checking and measuring the images on the Ray cluster." in log and "no model" in log


def test_the_plan_puts_one_image_pass_in_place_of_the_per_image_stages():
    def stages(*overrides, reads_images=True):
        worker = resolve(overrides=["stopping_condition.n_samples=5", *overrides]).worker
        return planned_stages(worker, reads_images=reads_images)

    assert stages("ray_address=local")[:3] == ["load", "image_pass", "scores"]
    # Training runs on the driver: the pass checks and measures, then the model trains and embeds.
    assert stages("ray_address=local", "enable_training=True")[:4] == ["load", "image_pass", "training", "embeddings"]
    assert stages("ray_address=local", "embeddings=e.csv")[:3] == ["load", "image_pass", "scores"]
    assert stages()[:3] == ["load", "corruptness", "duplicates"]
    # Without images (an embeddings file alone) there is nothing to pass over.
    assert "image_pass" not in stages("ray_address=local", reads_images=False)


@pytest.mark.parametrize("address", ["nowhere", "http://head:6379", "head:port", "local;rm -rf /"])
def test_a_malformed_ray_address_is_refused_naming_the_key(address, tmp_path, folder):
    with pytest.raises(ConfigError, match=r"^ray_address: must be"):
        run(tmp_path, f"input_dir={folder}", "stopping_condition.n_samples=5", f"ray_address={address}")


def test_a_cluster_that_does_not_answer_fails_the_run_at_once_naming_the_key(tmp_path, folder):
    with pytest.raises(ConfigError, match=r"^ray_address: no Ray cluster answers at 127\.0\.0\.1:9: "):
        run(tmp_path, f"input_dir={folder}", "stopping_condition.n_samples=5", "ray_address=127.0.0.1:9")
    failed = next(tmp_path.rglob("FAILED.txt")).read_text()
    assert "no Ray cluster answers at 127.0.0.1:9" in failed
