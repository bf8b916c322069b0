"""labeled_filenames_file: images labeled outside Winnow count as selected and are never picked."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.errors import InputError
from tests.factories import clustered_embeddings, image_folder, write_embeddings_csv


def run(tmp_path, *args):
    log = io.StringIO()
    config = resolve(overrides=[f"output_dir={tmp_path / 'out'}", *args])
    result = pipeline.run(config, show_bars=False, stream=log)
    return result, log.getvalue()


@pytest.fixture
def two_clusters(tmp_path):
    """40 images; embeddings in two far-apart clusters (images 0-19 in one, 20-39 in the other)."""
    root, shared = tmp_path / "input", tmp_path / "shared"
    names = sorted(image_folder(root, n=40, folders=("a",)))
    points, clusters = clustered_embeddings(2, 20, spread=0.5, seed=1)
    scores = np.random.default_rng(0).random(40)
    write_embeddings_csv(shared / "embeddings.csv", names, points, al=scores)
    return root, shared, names, clusters


def label(shared, names):
    (shared / "labeled.txt").write_text("# labeled last week\n" + "\n".join(names) + "\n")


@pytest.mark.parametrize(
    "method_args",
    [
        ["method=coreset"],
        ["method=random"],
        ["method=coral", "active_learning_score_column_name=al"],
        [('selection_config={"n_samples": 10, "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", '
          '"typicality": "COLD_START"}}, {"input": {"type": "TYPICALITY"}, "strategy": {"type": "WEIGHTS"}}]}')],
    ],
)
def test_labeled_images_are_never_picked_with_any_method(tmp_path, two_clusters, method_args):
    root, shared, names, _ = two_clusters
    labeled = names[:15]
    label(shared, labeled)
    result, log = run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings.csv",
                      "labeled_filenames_file=labeled.txt", "stopping_condition.n_samples=10", *method_args)
    assert len(result.selected) == 10
    assert not set(result.selected) & set(labeled)
    removed = pd.read_csv(result.run_dir / "removed_samples.csv").set_index("filenames")
    assert (removed.loc[labeled, "reason"] == "labeled already (labeled_filenames_file)").all()
    assert "15 samples are labeled already" in log
    assert json.loads((result.run_dir / "report.json").read_text())["selection"]["labeled"] == 15


def test_labeled_images_move_the_diversity_term(tmp_path, two_clusters):
    root, shared, names, clusters = two_clusters
    args = [f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings.csv", "stopping_condition.n_samples=3"]
    plain, _ = run(tmp_path, *args, "run_directory=plain")
    first_cluster = [n for n, c in zip(names, clusters) if c == clusters[0]]
    assert {clusters[names.index(n)] for n in plain.selected} == {0, 1}  # k-center spans both clusters
    label(shared, first_cluster)
    knowing, _ = run(tmp_path, *args, "labeled_filenames_file=labeled.txt", "run_directory=knowing")
    # the labeled cluster is covered already: every pick goes to the other one
    assert {clusters[names.index(n)] for n in knowing.selected} == {1}
    picks = pd.read_csv(knowing.run_dir / "data/selected_samples.csv")
    # distances are measured to the labeled images too: the first pick is not "infinitely far"
    assert np.isfinite(picks["distance_to_nearest_earlier_pick"]).all()


def test_coral_shows_the_typicality_factor_of_each_pick(tmp_path, two_clusters):
    root, shared, _, _ = two_clusters
    result, _ = run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings.csv", "method=coral",
                    "active_learning_score_column_name=al", "stopping_condition.n_samples=5")
    picks = pd.read_csv(result.run_dir / "data/selected_samples.csv")
    assert picks["typicality_factor"].between(0, 1).all()
    assert picks["reason"].str.contains(r"DIVERSITY [0-9.]+ \(x typicality [0-9.]+\)").all()
    objectives = json.loads((result.run_dir / "report.json").read_text())["selection"]["objectives"]
    assert objectives[0] == {"label": "DIVERSITY", "strength": 1.0, "typicality_exponent": 0.5}


def test_a_labeled_file_that_matches_nothing_or_is_missing_is_an_error(tmp_path, two_clusters):
    root, shared, _names, _ = two_clusters
    args = [f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings.csv", "stopping_condition.n_samples=3"]
    with pytest.raises(InputError, match=r"nope\.txt.*labeled_filenames_file not found"):
        run(tmp_path, *args, "labeled_filenames_file=nope.txt")
    (shared / "labeled.txt").write_text("b/0001.png\nb/0002.png\n")
    with pytest.raises(InputError, match=r"labeled\.txt: none of its 2 files is a sample of this run, e.g. 'b/0001.png'"):
        run(tmp_path, *args, "labeled_filenames_file=labeled.txt")
    (shared / "labeled.txt").write_text("../../etc/passwd\n")
    with pytest.raises(InputError, match=r"labeled\.txt, line 1: path '../../etc/passwd' contains '\.\.'"):
        run(tmp_path, *args, "labeled_filenames_file=labeled.txt")


def test_labeled_names_outside_this_run_are_ignored_with_a_warning(tmp_path, two_clusters):
    root, shared, names, _ = two_clusters
    (shared / "labeled.txt").write_text(f"{names[0]}\nold/gone.png\n")
    result, log = run(tmp_path, f"input_dir={root}", f"shared_dir={shared}", "embeddings=embeddings.csv",
                      "labeled_filenames_file=labeled.txt", "stopping_condition.n_samples=3")
    assert "Warning: 1 of the 2 labeled files are not samples of this run (e.g. 'old/gone.png')" in log
    assert names[0] not in result.selected
