"""``winnow evaluate``: the simulated labeling loop on a user's labeled data, its files and errors."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from selection_engine.cli import main
from tests.factories import write_embeddings_csv

SMALL = ["evaluation.initial=6", "evaluation.per_round=6", "evaluation.rounds=3", "evaluation.seeds=2"]


@pytest.fixture
def labeled_csv(tmp_path):
    """180 samples of 3 overlapping classes in an embeddings CSV with their labels."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 60)
    points = rng.normal(0, 1.0, (180, 6)) + np.eye(6)[labels] * 2.5
    names = [f"img/{i:03d}.png" for i in range(180)]
    write_embeddings_csv(tmp_path / "shared/emb.csv", names, points, labels=labels)
    return tmp_path / "shared"


def evaluate(tmp_path, *args):
    return main(["evaluate", f"output_dir={tmp_path / 'out'}", *args])


def test_evaluation_writes_the_table_plot_and_recommendation(tmp_path, labeled_csv, capsys):
    code = evaluate(tmp_path, f"shared_dir={labeled_csv}", "embeddings=emb.csv", "run_directory=e", *SMALL)
    assert code == 0
    out = tmp_path / "out/e"
    accuracy = pd.read_csv(out / "accuracy.csv")
    # 4 methods x 2 seeds x (initial + 3 rounds)
    assert len(accuracy) == 32 and set(accuracy["method"]) == {"random", "coreset", "coral", "cold-start"}
    assert accuracy.groupby("round")["labeled"].unique().map(list).to_dict() == {0: [6], 1: [12], 2: [18], 3: [24]}
    # every method starts from the same random labels in a seed: the paired comparison is fair
    first = accuracy[accuracy["round"] == 0].groupby("seed")["accuracy"].nunique()
    assert (first == 1).all()
    assert accuracy["accuracy"].between(0, 1).all()
    summary = json.loads((out / "evaluation.json").read_text())
    assert summary["protocol"] == {"initial": 6, "rounds": 3, "per_round": 6, "seeds": 2, "test_fraction": 0.3}
    assert summary["recommendation"]["method"] in {"random", "coreset", "coral", "cold-start"}
    methods = pd.read_csv(out / "methods.csv")
    assert methods.loc[methods["method"] == "random", "mean_vs_random"].item() == 0
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "rounds ahead" in printed and summary["recommendation"]["text"] in printed


def test_a_selection_config_file_is_one_more_method(tmp_path, labeled_csv):
    (labeled_csv / "uncertain.json").write_text(json.dumps({"n_samples": 1, "strategies": [
        {"input": {"type": "SCORES", "task": "mine", "score": "uncertainty_entropy"}, "strategy": {"type": "WEIGHTS"}}]}))
    code = evaluate(tmp_path, f"shared_dir={labeled_csv}", "embeddings=emb.csv", "run_directory=e", *SMALL,
                    "evaluation.methods=[random,coreset]", "evaluation.selection_configs=[uncertain.json]")
    assert code == 0
    methods = pd.read_csv(tmp_path / "out/e/methods.csv")
    assert methods["method"].tolist() == ["random", "coreset", "uncertain"]


def test_labels_from_image_folders_with_the_models_embeddings(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    root = tmp_path / "images"
    for digit, folder in ((0, "zero"), (1, "one")):
        (root / folder).mkdir(parents=True)
        for i, pixels in enumerate(digits.images[digits.target == digit][:40]):
            Image.fromarray((pixels * 255 / 16).astype(np.uint8)).resize((32, 32)).save(root / folder / f"{i:02d}.png")
    code = evaluate(tmp_path, f"input_dir={root}", "run_directory=e", "lightly.collate.input_size=32", *SMALL[:3],
                    "evaluation.seeds=1", "evaluation.methods=[random,coral]")
    assert code == 0
    summary = json.loads((tmp_path / "out/e/evaluation.json").read_text())
    assert {row["embeddings"] for row in summary["methods"]} == {"random weights"}
    # zeros and ones, embedded by the random-weights model: told apart after a few labels
    last = [row for row in summary["per_round"] if row["labeled"] == 24]
    assert len(last) == 2 and min(row["mean"] for row in last) >= 0.9


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluation.rounds=21"], "evaluation.rounds: 6 initial + 21 rounds of 6 labels need 132 samples outside the test split, but only 126 of the 180"),
        (["evaluation.methods=[random,magic]"], "evaluation.methods: unknown method 'magic'; known: random, coreset, coral, cold-start"),
        (["evaluation.methods=[coral]"], "evaluation.methods: must include random"),
        (["evaluation.seeds=0"], "evaluation.seeds: must be >= 1"),
        (["evaluation.labels=labels.csv"], "labels.csv: needs the columns filenames,labels; it has filenames, class"),
        (["evaluation.rouns=3"], "evaluation.rouns: unknown key — did you mean evaluation.rounds?"),
    ],
)
def test_bad_evaluations_say_which_key(tmp_path, labeled_csv, capsys, args, message):
    (labeled_csv / "labels.csv").write_text("filenames,class\nimg/000.png,0\n")
    code = evaluate(tmp_path, f"shared_dir={labeled_csv}", "embeddings=emb.csv", *SMALL, *args)
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_class_with_one_image_cannot_be_split(tmp_path, labeled_csv, capsys):
    labels = pd.read_csv(labeled_csv / "emb.csv")[["filenames", "labels"]]
    labels.loc[0, "labels"] = 7  # one image of class 7
    labels.to_csv(labeled_csv / "labels.csv", index=False)
    assert evaluate(tmp_path, f"shared_dir={labeled_csv}", "embeddings=emb.csv", "evaluation.labels=labels.csv", *SMALL) == 2
    assert "evaluation.labels: 1 class has a single labeled image (7): every class needs at least two" in capsys.readouterr().err


def test_a_labels_file_naming_an_image_twice_is_refused_with_the_line(tmp_path, labeled_csv, capsys):
    labels = pd.read_csv(labeled_csv / "emb.csv")[["filenames", "labels"]]
    pd.concat([labels, labels.iloc[[3]]]).to_csv(labeled_csv / "labels.csv", index=False)
    assert evaluate(tmp_path, f"shared_dir={labeled_csv}", "embeddings=emb.csv", "evaluation.labels=labels.csv", *SMALL) == 2
    assert "labels.csv, line 182: 'img/003.png' is listed twice" in capsys.readouterr().err


def test_no_labels_anywhere_is_an_error_that_says_where_labels_come_from(tmp_path, capsys):
    write_embeddings_csv(tmp_path / "shared/emb.csv", [f"{i}.png" for i in range(50)], np.random.default_rng(0).random((50, 4)))
    assert evaluate(tmp_path, f"shared_dir={tmp_path / 'shared'}", "embeddings=emb.csv", *SMALL) == 2
    assert "evaluation.labels: no labels found: give a CSV of filenames,labels" in capsys.readouterr().err
