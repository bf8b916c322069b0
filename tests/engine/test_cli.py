"""The ``winnow`` command: exit codes, one-line errors, --help."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from selection_engine.cli import main
from tests.factories import image_folder, write_embeddings_csv

WINNOW = str(Path(sys.executable).parent / "winnow")


def test_help_lists_every_key_with_its_default(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for line in ["stopping_condition.n_samples=-1", "method=coreset", 'checkpoint=""', "datapool.keep_history=True",
                 "lightly.loader.batch_size=16", "lightly.collate.input_size=64", "scorer_config.min_score=0.9"]:
        assert line in text
    assert "input_dir" in text and "output_dir" in text


def test_no_arguments_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage: winnow" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(tmp_path):
    proc = subprocess.run(
        [WINNOW, f"input_dir={tmp_path}", f"output_dir={tmp_path / 'out'}", "stoping_condition.n_samples=3"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "winnow: error: stoping_condition.n_samples: unknown key — did you mean stopping_condition.n_samples?"


def test_a_missing_input_dir_exits_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "selection_engine", f"input_dir={tmp_path / 'nope'}", f"output_dir={tmp_path}", "stopping_condition.n_samples=3"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "input_dir does not exist" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_successful_run_exits_0(tmp_path):
    names = image_folder(tmp_path / "in", n=6)
    write_embeddings_csv(tmp_path / "shared/e.csv", names, np.random.default_rng(0).random((6, 4)))
    proc = subprocess.run(
        [sys.executable, "-m", "selection_engine", f"input_dir={tmp_path / 'in'}", f"shared_dir={tmp_path / 'shared'}",
         f"output_dir={tmp_path / 'out'}", "embeddings=e.csv", "stopping_condition.n_samples=2", "token=hidden-token"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Sampled 2 images" in proc.stdout and "Done!" in proc.stdout
    assert "hidden-token" not in proc.stdout + proc.stderr
