"""The stages a run goes through are the ones ``stages.plan.planned_stages`` lists, in its order:
the pipeline follows the plan, and the web page's progress bar reads the same plan."""

import io

import numpy as np
import pytest

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.stages.plan import STAGES, planned_stages
from tests.factories import image_folder, write_embeddings_csv

SMALL = ["lightly.collate.input_size=32", "lightly.loader.num_workers=0", "lightly.loader.batch_size=8"]


def stages_run(tmp_path, *keys):
    """The stages a real run announced, in order, and the plan for its config."""
    seen: list[str] = []

    def on_progress(stage, _done, _total, _message):
        if not seen or seen[-1] != stage:
            seen.append(stage)

    config = resolve(overrides=[f"output_dir={tmp_path / 'out'}", "stopping_condition.n_samples=4", *SMALL, *keys])
    pipeline.run(config, on_progress=on_progress, show_bars=False, stream=io.StringIO())
    return seen, planned_stages(config.worker, reads_images=bool(config.input_dir))


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "input"
    image_folder(root, n=12)
    return root


@pytest.fixture
def embeddings_only(tmp_path):
    shared = tmp_path / "shared"
    names = [f"img_{i:02d}.png" for i in range(12)]
    write_embeddings_csv(shared / "embeddings.csv", names, np.random.default_rng(0).standard_normal((12, 8)))
    return shared


def test_a_default_folder_run_goes_through_every_stage_but_training_and_dump(tmp_path, folder):
    seen, plan = stages_run(tmp_path, f"input_dir={folder}")
    assert seen == plan == [s for s in STAGES if s not in ("image_pass", "training", "dump")]


def test_turned_off_checks_are_neither_planned_nor_run(tmp_path, folder):
    seen, plan = stages_run(
        tmp_path, f"input_dir={folder}", "enable_corruptness_check=False", "remove_exact_duplicates=False",
        "dump_dataset=True",
    )
    assert seen == plan
    assert "corruptness" not in plan and "duplicates" not in plan and "dump" in plan


def test_training_is_planned_and_run_before_the_embeddings(tmp_path, folder):
    seen, plan = stages_run(tmp_path, f"input_dir={folder}", "enable_training=True", "lightly.trainer.max_epochs=1")
    assert seen == plan
    assert plan.index("training") + 1 == plan.index("embeddings")


def test_an_embeddings_file_alone_skips_every_stage_that_reads_images(tmp_path, embeddings_only):
    seen, plan = stages_run(tmp_path, f"shared_dir={embeddings_only}", "embeddings=embeddings.csv")
    assert seen == plan == ["load", "duplicates", "scores", "selection", "outputs", "report"]
