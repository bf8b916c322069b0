"""Runs that read predictions: coral on a task's scores, scores.csv, metadata.csv, bad files."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from selection_engine import synthetic
from selection_engine.scoring import SCORE_NAMES

TASKS = {"weather": "classification", "cars": "object-detection"}


@pytest.fixture(scope="module")
def datasource(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasource")
    names = synthetic.write_images(root, 60, size=(48, 64), seed=4)
    synthetic.write_predictions(root, names, TASKS, image_size=(48, 64), coverage=0.9, seed=5)
    return root, names


def winnow(*args):
    return subprocess.run([sys.executable, "-m", "selection_engine", *args], capture_output=True, text=True)


def only_run_dir(out):
    (run_dir,) = [p for p in out.glob("*/*") if p.is_dir()]
    return run_dir


def test_coral_on_a_task_score_end_to_end(tmp_path, datasource):
    root, _names = datasource
    proc = winnow(f"input_dir={root}", f"output_dir={tmp_path}", "method=coral", "active_learning.task_name=weather",
                  "active_learning.score_name=uncertainty_entropy", "stopping_condition.n_samples=12", "lightly.loader.num_workers=0")
    assert proc.returncode == 0, proc.stderr
    run_dir = only_run_dir(tmp_path)
    scores = pd.read_csv(run_dir / "data/scores.csv")
    expected = ["filenames"] + [f"{t}/{s}" for t, kind in TASKS.items() for s in SCORE_NAMES[kind]]
    assert list(scores.columns) == expected
    assert len(scores) == 60 and scores.drop(columns="filenames").stack().between(0, 1).all()
    selected = pd.read_csv(run_dir / "data/selected_samples.csv")
    assert len(selected) == 12
    assert {"weather/uncertainty_entropy", "contribution/DIVERSITY", "contribution/WEIGHTS:weather/uncertainty_entropy"} <= set(selected.columns)
    entropy = scores.set_index("filenames")["weather/uncertainty_entropy"]
    assert entropy[selected["filenames"]].mean() > entropy.mean()
    metadata = pd.read_csv(run_dir / "data/metadata.csv")
    assert {"lightly.sharpness", "lightly.snr", "lightly.sizeInBytes", "lightly.width", "lightly.height"} <= set(metadata.columns)
    assert (metadata["lightly.width"] == 64).all() and (metadata["lightly.height"] == 48).all()
    report = json.loads((run_dir / "report.json").read_text())
    tasks = report["job"]["predictions"]["tasks"]
    assert tasks["weather"]["task_type"] == "classification" and tasks["cars"]["images_with_predictions"] < 60
    assert "Task weather (classification, 3 categories)" in proc.stdout


def test_the_same_run_as_a_selection_config_file(tmp_path, datasource):
    root, _ = datasource
    (tmp_path / "selection.json").write_text(json.dumps({
        "n_samples": 12,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
            {"input": {"type": "SCORES", "task": "weather", "score": "uncertainty_entropy"}, "strategy": {"type": "WEIGHTS"}},
            {"input": {"type": "METADATA", "key": "lightly.sizeInBytes"}, "strategy": {"type": "THRESHOLD", "threshold": 0, "operation": "BIGGER"}},
        ],
    }))
    proc = winnow(f"input_dir={root}", f"shared_dir={tmp_path}", f"output_dir={tmp_path / 'out'}", "selection_config=selection.json", "lightly.loader.num_workers=0")
    assert proc.returncode == 0, proc.stderr
    selected = pd.read_csv(only_run_dir(tmp_path / "out") / "data/selected_samples.csv")
    assert len(selected) == 12 and "contribution/THRESHOLD:lightly.sizeInBytes" in selected.columns


@pytest.mark.parametrize(
    "args, message",
    [
        (["active_learning.task_name=nope"], "active_learning.task_name: unknown task 'nope'; tasks: cars, weather"),
        (["active_learning.task_name=cars", "active_learning.score_name=uncertainty_marg"],
         "active_learning.score_name: object-detection task 'cars' has no score 'uncertainty_marg'; valid: objectness_least_confidence"),
    ],
)
def test_unknown_tasks_and_scores_list_the_valid_names(tmp_path, datasource, args, message):
    root, _ = datasource
    proc = winnow(f"input_dir={root}", f"output_dir={tmp_path}", "method=coral", "stopping_condition.n_samples=3", *args)
    assert proc.returncode == 2
    assert message in proc.stderr


@pytest.fixture
def broken(tmp_path):
    root = tmp_path / "data"
    names = synthetic.write_images(root, 20, seed=8)
    synthetic.write_predictions(root, names, {"weather": "classification"}, seed=9)
    bad = root / ".lightly/predictions/weather" / names[3].replace(".png", ".json")
    bad.write_text(json.dumps({"file_name": names[3], "predictions": [{"category_id": 9}]}))
    return root, names, bad.relative_to(root).as_posix()


def test_a_bad_prediction_file_fails_the_run_by_default(tmp_path, broken):
    root, _, bad = broken
    proc = winnow(f"input_dir={root}", f"output_dir={tmp_path / 'out'}", "stopping_condition.n_samples=3")
    assert proc.returncode == 2
    assert f"{bad}: predictions[0]: category_id 9 is not in the schema" in proc.stderr
    assert "invalid_predictions=skip" in proc.stderr


def test_skip_policy_lists_the_bad_file_in_the_report(tmp_path, broken):
    root, _names, bad = broken
    proc = winnow(f"input_dir={root}", f"output_dir={tmp_path / 'out'}", "stopping_condition.n_samples=3",
                  "invalid_predictions=skip", "lightly.loader.num_workers=0")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((only_run_dir(tmp_path / "out") / "report.json").read_text())
    assert report["job"]["predictions"]["problems"][0]["file"] == bad
    assert report["job"]["predictions"]["tasks"]["weather"]["images_with_predictions"] == 19
