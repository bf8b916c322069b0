"""Every training run checks, without labels, whether training made the embeddings worse: the
effective rank, the rule, and what a run writes (report.json, log, report.pdf, the embeddings)."""

import io
import json

import numpy as np
import pandas as pd
import pypdfium2
import pytest

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.embedding import quality
from selection_engine.embedding.quality import effective_rank, training_quality
from tests.factories import image_folder, write_embeddings_csv

SMALL = ["lightly.collate.input_size=32", "lightly.loader.num_workers=0", "lightly.loader.batch_size=16"]
TRAIN = ["enable_training=True", "lightly.trainer.max_epochs=1"]


def test_effective_rank_counts_the_directions_used():
    assert effective_rank(np.tile(np.eye(8), (5, 1))) == pytest.approx(8)  # 8 directions, evenly
    assert effective_rank(np.tile([[3.0, 4.0, 0.0]], (10, 1))) == pytest.approx(1)  # one direction
    # e1 three times, e2 once: singular values √3 and 1, p = (0.634, 0.366), exp(entropy) = 1.929
    assert effective_rank(np.array([[1.0, 0], [1, 0], [1, 0], [0, 1]])) == pytest.approx(1.929, abs=1e-3)
    # rows are normalised first, as the selection sees them: lengths do not count
    rows = np.random.default_rng(0).standard_normal((50, 6))
    assert effective_rank(rows * np.arange(1, 51)[:, None]) == pytest.approx(effective_rank(rows))


def test_embeddings_squeezed_into_few_directions_are_judged_worse():
    rng = np.random.default_rng(0)
    starting = rng.standard_normal((500, 32))
    collapsed = starting.copy()
    collapsed[:, 4:] *= 0.01  # training that kept four directions
    check = training_quality(starting, collapsed)
    assert check.starting > 28 and check.trained < 8
    assert check.worse and check.verdict == "worse"
    facts = check.facts()
    assert facts["signal"] == "effective_rank" and facts["images"] == 500 and facts["dimension"] == 32
    for advice in ("lightly.trainer.max_epochs", "enable_training=False", "checkpoint="):
        assert advice in facts["warning"]

    rotated = starting @ np.linalg.qr(rng.standard_normal((32, 32)))[0]  # same spread, other directions
    check = training_quality(starting, rotated)
    assert not check.worse and check.verdict == "not worse" and check.facts()["warning"] is None
    assert check.ratio == pytest.approx(1, abs=0.01)


def test_the_rule_is_the_ratio_to_the_starting_weights():
    rng = np.random.default_rng(1)
    starting = rng.standard_normal((400, 16))
    squeezed = starting * np.geomspace(1, 0.02, 16)  # a smooth loss of spread
    ratio = training_quality(starting, squeezed).ratio
    assert 0 < ratio < 1
    assert training_quality(starting, squeezed).worse == (ratio < quality.WORSE_BELOW)
    with pytest.raises(ValueError, match="same images"):
        training_quality(starting, starting[:10])


def run(tmp_path, root, name, *args):
    config = resolve(overrides=[f"input_dir={root}", f"output_dir={tmp_path / 'out'}", "stopping_condition.n_samples=8",
                                f"run_directory={name}", *SMALL, *args])
    log = io.StringIO()
    result = pipeline.run(config, show_bars=False, stream=log)
    return result.run_dir, log.getvalue()


def pdf_text(path):
    document = pypdfium2.PdfDocument(str(path))
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def embeddings(run_dir):
    return pd.read_csv(run_dir / "data/embeddings.csv").set_index("filenames")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality") / "images"
    image_folder(root, n=64)
    return root


def test_a_training_run_reports_its_quality_check(tmp_path, images):
    run_dir, log = run(tmp_path, images, "trained", *TRAIN)
    check = json.loads((run_dir / "report.json").read_text())["job"]["training"]["quality"]
    assert check["signal"] == "effective_rank" and check["images"] == 64 and check["dimension"] == 32
    assert 1 <= check["starting_weights"] <= 32 and 1 <= check["trained"] <= 32
    assert check["verdict"] in ("worse", "not worse")
    assert check["embedded_with"] == ("starting weights" if check["verdict"] == "worse" else "trained weights")
    assert f"{check['starting_weights']:.1f} with the starting weights, {check['trained']:.1f} after training" in log
    cover = pdf_text(run_dir / "report.pdf").split("Job")[0]
    assert "Embedding quality, label-free" in cover and "1 epochs" in cover


@pytest.mark.parametrize("fit_sample", [None, 40], ids=["every image", "a sample of a large dataset"])
def test_training_judged_worse_warns_and_selects_with_the_starting_weights(tmp_path, images, monkeypatch, fit_sample):
    monkeypatch.setattr(quality, "WORSE_BELOW", float("inf"))  # every training fails the check
    if fit_sample:  # above projection.FIT_SAMPLE images the check and the fit look at a sample only
        monkeypatch.setattr("selection_engine.embedding.projection.FIT_SAMPLE", fit_sample)
    run_dir, log = run(tmp_path, images, "worse", *TRAIN)
    check = json.loads((run_dir / "report.json").read_text())["job"]["training"]["quality"]
    assert check["verdict"] == "worse" and check["embedded_with"] == "starting weights"
    assert check["images"] == (fit_sample or 64)
    assert check["warning"].startswith("training made the embeddings worse")
    assert "Warning: training made the embeddings worse" in log
    assert "Selecting with the embeddings of the starting weights (random weights, seed 0)" in log
    text = pdf_text(run_dir / "report.pdf")
    assert "Warning: training made the embeddings worse" in text
    assert "This run selected with the embeddings of the starting weights" in text
    random_dir, _ = run(tmp_path, images, "random")  # the same starting weights without training
    pd.testing.assert_frame_equal(embeddings(run_dir), embeddings(random_dir), atol=1e-6)
    assert (run_dir / "checkpoints/last.ckpt").is_file()  # the trained weights are kept all the same


def test_training_that_passes_the_check_selects_with_the_trained_weights(tmp_path, images, monkeypatch):
    monkeypatch.setattr(quality, "WORSE_BELOW", 0.0)
    run_dir, log = run(tmp_path, images, "kept", *TRAIN)
    check = json.loads((run_dir / "report.json").read_text())["job"]["training"]["quality"]
    assert check["verdict"] == "not worse" and check["embedded_with"] == "trained weights" and check["warning"] is None
    assert "Warning" not in log
    assert "fitted to the images (PCA of the trunk's features of 64 images" in log and "after training" in log
    # the checkpoint holds the refitted projection: reusing it gives this run's embeddings
    reused, _ = run(tmp_path, images, "reused", f"checkpoint={run_dir / 'checkpoints/last.ckpt'}")
    pd.testing.assert_frame_equal(embeddings(run_dir), embeddings(reused), rtol=1e-4, atol=1e-4)


def test_training_beside_an_embeddings_file_is_checked_but_selects_with_the_file(tmp_path, images, monkeypatch):
    monkeypatch.setattr(quality, "WORSE_BELOW", float("inf"))
    names = sorted(p.relative_to(images).as_posix() for p in images.rglob("*.png"))
    given = np.random.default_rng(0).standard_normal((len(names), 8)).astype(np.float32)
    csv = write_embeddings_csv(tmp_path / "given.csv", names, given)
    run_dir, log = run(tmp_path, images, "file", *TRAIN, f"embeddings={csv}")
    check = json.loads((run_dir / "report.json").read_text())["job"]["training"]["quality"]
    assert check["embedded_with"] == "embeddings file" and check["verdict"] == "worse"
    assert "Warning: training made the embeddings worse" in log and "Selecting with the embeddings of the starting" not in log
    np.testing.assert_allclose(embeddings(run_dir).loc[names].to_numpy(np.float32)[:, :8], given, atol=1e-5)
