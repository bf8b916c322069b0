"""Whole runs through the pipeline: the run directory, the seed's invocations, datapools, bad input."""

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.errors import ConfigError, InputError, UnsafePathError
from tests.factories import image_folder, write_embeddings_csv, write_image

RUN_FILES = [
    "config/config.json",
    "data/embeddings.csv",
    "data/normalized_embeddings.csv",
    "data/selected_embeddings.csv",
    "data/selected_samples.csv",
    "filenames/corrupt_filenames.txt",
    "filenames/duplicate_filenames.txt",
    "filenames/removed_filenames.txt",
    "filenames/sampled_filenames.txt",
    "removed_samples.csv",
    "report.json",
    "log.txt",
]


def run(tmp_path, *args, **kwargs):
    log = io.StringIO()
    config = resolve(overrides=[f"output_dir={tmp_path / 'out'}", *args])
    result = pipeline.run(config, show_bars=False, stream=log, **kwargs)
    return result, log.getvalue()


@pytest.fixture
def dataset(tmp_path):
    """40 images, an embeddings CSV with an al_score column in shared_dir (like the seed's step 2)."""
    root, shared = tmp_path / "input", tmp_path / "shared"
    names = image_folder(root, n=40)
    rng = np.random.default_rng(0)
    write_embeddings_csv(shared / "embeddings_al.csv", names, rng.standard_normal((40, 16)), al_score=rng.random(40))
    return root, shared, names


def test_the_seeds_step_3_invocation(tmp_path, dataset):
    root, shared, _names = dataset
    result, log = run(
        tmp_path, f"input_dir={root}", f"shared_dir={shared}", "token=abc", "lightly.loader.num_workers=4",
        "stopping_condition.n_samples=10", "method=coral", "enable_training=False", "dump_dataset=True",
        "upload_dataset=False", "embeddings=embeddings_al.csv", "active_learning_score_column_name=al_score", "scorer=",
    )
    run_dir = result.run_dir
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    assert len(result.selected) == 10
    selected = pd.read_csv(run_dir / "data/selected_samples.csv")
    assert selected["filenames"].tolist() == result.selected
    assert selected["rank"].tolist() == list(range(1, 11))
    assert {"al_score", "contribution/DIVERSITY", "contribution/WEIGHTS:al_score", "distance_to_nearest_earlier_pick", "reason"} <= set(selected.columns)
    assert (run_dir / "filenames/sampled_filenames.txt").read_text().split() == result.selected
    # dumped images: png by default, under their relative paths
    dumped = sorted(p.relative_to(run_dir / "data/sampled").as_posix() for p in (run_dir / "data/sampled").rglob("*.png"))
    assert dumped == sorted(result.selected)
    removed = pd.read_csv(run_dir / "removed_samples.csv")
    assert len(removed) == 30 and set(removed["reason"]) == {"not selected"}
    assert set(removed["nearest_selected"]) <= set(result.selected)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["job"]["selected"] == 10 and report["job"]["files_seen"] == 40
    assert set(report["job"]["stage_durations_s"]) >= {"load", "selection", "outputs"}
    assert "abc" not in (run_dir / "config/config.json").read_text()
    assert "Found 40 input images in" in log and "Sampled 10 images" in log and log.rstrip().endswith("Done!")
    assert log.splitlines()[0].startswith("[20") and "] Loading initial embedding file..." in log.splitlines()[0]
    assert (run_dir / "log.txt").read_text() == log


def test_step_1_style_run_keeps_everything_and_says_so(tmp_path):
    root = tmp_path / "input"
    image_folder(root, n=10)
    result, log = run(tmp_path, f"input_dir={root}", "stopping_condition.n_samples=1.0", "method=coreset", "lightly.loader.num_workers=0")
    assert len(result.selected) == 10
    assert "Skipped sampling because the number of remaining images is smaller than the number of requested samples" in log
    embeddings = pd.read_csv(result.run_dir / "data/embeddings.csv")
    assert embeddings.shape == (10, 1 + 32 + 1)  # filenames, num_ftrs=32, labels
    normalized = pd.read_csv(result.run_dir / "data/normalized_embeddings.csv").filter(like="embedding_").to_numpy()
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), 1, atol=1e-5)
    assert json.loads((result.run_dir / "report.json").read_text())["job"]["compute_efficiency"] > 0


def test_corrupt_and_duplicate_files_are_listed_with_reasons(tmp_path):
    root = tmp_path / "input"
    image_folder(root, n=8)
    good = (root / "cats/0000.png").read_bytes()
    (root / "cats/broken.png").write_bytes(good[:100])
    (root / "cats/empty.jpg").write_bytes(b"")
    shutil.copy(root / "dogs/0001.png", root / "dogs/zz_copy.png")
    result, log = run(tmp_path, f"input_dir={root}", "stopping_condition.n_samples=3", "lightly.loader.num_workers=0")
    run_dir = result.run_dir
    assert (run_dir / "filenames/corrupt_filenames.txt").read_text().split() == ["cats/broken.png", "cats/empty.jpg"]
    assert (run_dir / "filenames/duplicate_filenames.txt").read_text().split() == ["dogs/zz_copy.png"]
    removed = pd.read_csv(run_dir / "removed_samples.csv").set_index("filenames")
    assert removed.loc["cats/empty.jpg", "reason"] == "corrupt: empty file (0 bytes)"
    assert removed.loc["cats/broken.png", "reason"].startswith("corrupt: ")
    assert removed.loc["dogs/zz_copy.png", "reason"] == "exact duplicate of dogs/0001.png"
    assert len(removed) == 11 - 3
    assert "Found 2 corrupt images." in log and "Found 1 exact duplicates." in log
    assert "dogs/zz_copy.png" not in pd.read_csv(run_dir / "data/embeddings.csv")["filenames"].tolist()


def test_datapool_across_two_runs(tmp_path):
    root, shared = tmp_path / "input", tmp_path / "shared"
    names = image_folder(root, n=20)
    rng = np.random.default_rng(2)
    embeddings = rng.standard_normal((30, 8))
    write_embeddings_csv(shared / "first.csv", names, embeddings[:20])
    first, _ = run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=first.csv",
                   "datapool.name=cars", "stopping_condition.n_samples=5")
    # ten new images arrive; the second run sees all 30
    more = [f"new/{i:03d}.png" for i in range(10)]
    for i, name in enumerate(more):
        write_image(root / name, seed=100 + i)
    write_embeddings_csv(shared / "second.csv", names + more, embeddings)
    second, log = run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=second.csv",
                      "datapool.name=cars", "stopping_condition.n_samples=4", "run_directory=second")
    assert set(second.selected) <= set(more), "only new samples are candidates"
    assert "Datapool cars: 5 samples selected earlier, 20 of the 30 samples seen before, 10 new candidates." in log
    # earlier picks counted as selected: the new picks equal k-center continued from them
    from selection_engine.formats.embeddings import normalize
    from selection_engine.selection import greedy_k_center
    x = normalize(embeddings.astype(np.float32))
    everything = names + more
    already = x[[everything.index(n) for n in first.selected]]
    pool_then_new = np.concatenate([already, x[20:]])
    order = greedy_k_center(pool_then_new, 4, already_selected=range(5))
    assert second.selected == [more[i - 5] for i in order]
    removed = pd.read_csv(second.run_dir / "removed_samples.csv").set_index("filenames")
    assert removed.loc[first.selected[0], "reason"] == "selected in an earlier run of datapool cars"
    history = json.loads((shared / "datapools/cars/history.json").read_text())
    assert [len(h["selected"]) for h in history] == [5, 4]
    assert [h["new_samples"] for h in history] == [20, 10]


def test_relevant_filenames_file_restricts_the_run(tmp_path, dataset):
    root, shared, names = dataset
    (shared / "relevant.txt").write_text("# wanted\n" + "\n".join(names[:6]) + "\n\n")
    result, log = run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings_al.csv",
                      "relevant_filenames_file=relevant.txt", "stopping_condition.n_samples=3")
    assert set(result.selected) <= set(names[:6])
    assert "Restricted to the 6 files listed in relevant.txt." in log


@pytest.mark.parametrize(
    "line, error, message",
    [
        ("../outside.png", UnsafePathError, "relevant.txt, line 2: path '../outside.png' contains '..'"),
        ("/etc/passwd", UnsafePathError, "relevant.txt, line 2: absolute path '/etc/passwd'"),
        ("cats/missing.png", InputError, "names 1 file(s) that are not in"),
    ],
)
def test_bad_relevant_filenames_are_refused(tmp_path, dataset, line, error, message):
    root, shared, names = dataset
    (shared / "relevant.txt").write_text(f"{names[0]}\n{line}\n")
    with pytest.raises(error) as err:
        run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings_al.csv",
            "relevant_filenames_file=relevant.txt", "stopping_condition.n_samples=3")
    assert message in str(err.value)


def test_embeddings_naming_files_outside_the_input_are_refused(tmp_path, dataset):
    root, shared, names = dataset
    write_embeddings_csv(shared / "bad.csv", [names[0], "../../etc/passwd"], np.ones((2, 4)))
    with pytest.raises(UnsafePathError, match=r"bad\.csv, line 3: path '../../etc/passwd' contains '\.\.'"):
        run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=bad.csv", "stopping_condition.n_samples=1")
    write_embeddings_csv(shared / "missing.csv", [names[0], "cats/nope.png"], np.ones((2, 4)))
    with pytest.raises(InputError, match=r"missing\.csv, line 3: 'cats/nope.png' is not in input_dir"):
        run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=missing.csv", "stopping_condition.n_samples=1")


def test_a_failed_run_leaves_a_marker_and_no_half_written_files(tmp_path, dataset):
    root, shared, _ = dataset
    with pytest.raises(InputError, match="has no column 'score'"):
        run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings_al.csv", "method=coral",
            "active_learning_score_column_name=score", "stopping_condition.n_samples=3", "run_directory=broken")
    run_dir = tmp_path / "out/broken"
    assert "has no column 'score'" in (run_dir / "FAILED.txt").read_text()
    assert not (run_dir / "report.json").exists() and not (run_dir / "data/selected_samples.csv").exists()
    assert not list(run_dir.rglob("*.tmp")), "no temporary files left behind"
    assert "Failed: " in (run_dir / "log.txt").read_text()


def test_dump_resizes_and_converts(tmp_path, dataset):
    root, shared, _ = dataset
    result, log = run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings_al.csv",
                      "stopping_condition.n_samples=2", "dump_dataset=True", "output_image_size=24", "output_image_format=jpg")
    dumped = sorted((result.run_dir / "data/sampled").rglob("*"))
    files = [p for p in dumped if p.is_file()]
    assert len(files) == 2 and all(p.suffix == ".jpg" for p in files)
    with Image.open(files[0]) as image:
        assert min(image.size) == 24 and image.size == (32, 24)  # 64x48 source, short edge 24
    assert "Output images are resized to 24." in log


def test_run_directory_names(tmp_path, dataset):
    root, shared, _ = dataset
    args = [f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings_al.csv", "stopping_condition.n_samples=2"]
    first, _ = run(tmp_path, *args)
    second, _ = run(tmp_path, *args)
    assert first.run_dir != second.run_dir
    assert first.run_dir.parent.parent == tmp_path / "out"
    with pytest.raises(UnsafePathError, match="run_directory"):
        run(tmp_path, *args, "run_directory=../escape")


def test_missing_locations_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="input_dir: is required"):
        pipeline.run(resolve(overrides=[f"output_dir={tmp_path}", "stopping_condition.n_samples=1"]), show_bars=False)
    with pytest.raises(ConfigError, match="output_dir: is required"):
        pipeline.run(resolve(overrides=[f"input_dir={tmp_path}", "stopping_condition.n_samples=1"]), show_bars=False)


def test_a_failed_run_leaves_the_datapool_as_it_was(tmp_path, dataset, monkeypatch):
    root, shared, _ = dataset
    args = [f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings_al.csv", "datapool.name=pool",
            "stopping_condition.n_samples=3"]
    run(tmp_path, *args)
    stored = (shared / "datapools/pool/datapool.npz").read_bytes()

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "report_facts", broken)  # fails after the selection is written
    with pytest.raises(RuntimeError, match="disk full"):
        run(tmp_path, *args, "run_directory=failed")
    assert (tmp_path / "out/failed/data/selected_samples.csv").exists()
    assert "internal error: RuntimeError: disk full" in (tmp_path / "out/failed/FAILED.txt").read_text()
    assert (shared / "datapools/pool/datapool.npz").read_bytes() == stored


@pytest.mark.parametrize("check", ["True", "False"])
def test_computed_metadata_with_and_without_the_corruptness_check(tmp_path, dataset, check):
    root, shared, names = dataset
    result, _ = run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings_al.csv",
                    "stopping_condition.n_samples=2", f"enable_corruptness_check={check}")
    metadata = pd.read_csv(result.run_dir / "data/metadata.csv")
    assert metadata["filenames"].tolist() == names
    assert (metadata["lightly.width"] == 64).all() and (metadata["lightly.sizeInBytes"] > 0).all()
