"""Size-like config keys have upper bounds that say why (issue 14, case 6).

``lightly.collate.input_size=100000``, ``output_image_size=[100000,100000]`` and
``lightly.loader.num_workers=10000`` were all queued, to exhaust the worker's memory or process
table once run. The engine's config refuses each with an error naming the dotted key and the
reason, so the CLI, the pages and the API all refuse them; realistic values still pass.
"""

from __future__ import annotations

import json
import os

import pytest

from selection_engine.cli import main
from selection_engine.config import resolve
from selection_engine.errors import ConfigError
from webapp.runs.models import Run

STOP = "stopping_condition.n_samples=10"


def refused(*overrides: str, selection=None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        resolve(selection_config=selection, overrides=[STOP, *overrides])
    return caught.value


@pytest.mark.parametrize("override, key, why", [
    ("lightly.collate.input_size=100000", "lightly.collate.input_size", "at most 1,024"),
    ("output_image_size=[100000,100000]", "output_image_size", "at most 8,192 pixels a side"),
    ("output_image_size=[64,100000]", "output_image_size", "at most 8,192 pixels a side"),
    ("output_image_size=100000", "output_image_size", "at most 8,192 pixels a side"),
    ("lightly.loader.num_workers=10000", "lightly.loader.num_workers", f"this machine has {os.cpu_count()}"),
    ("lightly.loader.batch_size=1000000", "lightly.loader.batch_size", "at most 4,096"),
    ("lightly.model.num_ftrs=1000000", "lightly.model.num_ftrs", "at most 2,048"),
    ("lightly.model.out_dim=10000000", "lightly.model.out_dim", "at most 8,192"),
    ("lightly.model.width=1000", "lightly.model.width", "at most 4"),
    ("lightly.trainer.max_epochs=100000000", "lightly.trainer.max_epochs", "at most 10,000"),
    ("n_example_images=1000000", "n_example_images", "at most 100"),
    ("stopping_condition.n_samples=100000000000", "stopping_condition.n_samples", "at most 1,000,000,000"),
    ("stopping_condition.n_samples=1e300", "stopping_condition.n_samples", "at most 1,000,000,000"),
])
def test_each_size_like_key_has_an_upper_bound_with_its_reason(override, key, why):
    error = refused(override)
    assert error.key == key and why in error.reason, str(error)


def test_a_batch_too_big_for_memory_is_refused_with_its_size():
    error = refused("lightly.loader.batch_size=4096", "lightly.collate.input_size=1024")
    assert error.key == "lightly.loader.batch_size"
    assert "GiB" in error.reason and "input_size" in error.reason, error.reason


def test_selection_config_counts_are_bounded():
    diversity = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}
    error = refused(selection={"n_samples": 10**12, "strategies": [diversity]})
    assert error.key == "selection_config.n_samples" and "at most 1,000,000,000" in error.reason
    error = refused(selection={"n_samples": 10, "strategies": [diversity] * 1000})
    assert error.key == "selection_config.strategies" and "at most 64" in error.reason


def test_realistic_values_still_pass():
    config = resolve(overrides=[
        "lightly.collate.input_size=1024", "lightly.loader.batch_size=256", "lightly.loader.num_workers=16",
        "lightly.model.num_ftrs=2048", "lightly.model.out_dim=512", "lightly.model.width=2",
        "lightly.trainer.max_epochs=1000", "output_image_size=[4096,4096]", "n_example_images=50",
        "stopping_condition.n_samples=1000000",
    ])
    assert config.lightly.collate.input_size == 1024 and config.worker.output_image_size == [4096, 4096]
    assert resolve(overrides=["lightly.loader.batch_size=4096", "lightly.collate.input_size=224", STOP])


def test_the_cli_refuses_with_the_key_and_exit_status_2(tmp_path, capsys):
    code = main([f"input_dir={tmp_path}", f"output_dir={tmp_path / 'out'}", "lightly.loader.num_workers=10000", STOP])
    assert code == 2
    assert "lightly.loader.num_workers: at most" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("documents, key", [
    ({"lightly_config": {"collate": {"input_size": 100000}}}, "lightly.collate.input_size"),
    ({"worker_config": {"output_image_size": [100000, 100000], "stopping_condition": {"n_samples": 3}}}, "output_image_size"),
    ({"lightly_config": {"loader": {"num_workers": 10000}}}, "lightly.loader.num_workers"),
])
def test_the_api_refuses_the_issues_values_and_queues_nothing(alice_api, dataset, documents, key):
    body = {"dataset": dataset.pk, "worker_config": {"stopping_condition": {"n_samples": 3}}, **documents}
    response = alice_api.post("/api/v1/runs/", body, format="json")
    assert response.status_code == 400, response.json()
    assert "at most" in response.json()["errors"][key]
    assert not Run.objects.exists()


def test_the_wizard_review_refuses_them_too(alice_client, dataset):
    alice_client.post("/runs/new/dataset/", {"dataset": dataset.pk, "action": "next"})
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps({"stopping_condition": {"n_samples": 3}}),
        "lightly_config": json.dumps({"collate": {"input_size": 100000}}), "selection_config": "", "action": "queue",
    })
    assert response.status_code == 200
    assert "lightly.collate.input_size: at most 1,024" in response.content.decode()
    assert not Run.objects.exists()
