"""Worker/lightly/selection configs built from key=value arguments and dicts."""

import json

import pytest

from selection_engine.config import resolve
from selection_engine.errors import ConfigError


def test_defaults_match_the_spec():
    config = resolve(overrides=["stopping_condition.n_samples=10"]).to_dict()
    worker, lightly = config["worker_config"], config["lightly_config"]
    assert worker["method"] == "coreset"
    assert worker["enable_corruptness_check"] is True and worker["remove_exact_duplicates"] is True
    assert worker["scorer"] == "object-frequency"
    assert worker["scorer_config"] == {"frequency_penalty": 0.25, "min_score": 0.9}
    assert worker["active_learning"]["score_name"] == "uncertainty_margin"
    assert worker["n_example_images"] == 6 and worker["output_image_format"] == "png"
    assert lightly["loader"] == {"batch_size": 16, "shuffle": True, "num_workers": -1, "drop_last": True}
    assert lightly["model"]["num_ftrs"] == 32 and lightly["model"]["out_dim"] == 128
    assert lightly["collate"]["input_size"] == 64 and lightly["optimizer"]["lr"] == 1.0


@pytest.mark.parametrize(
    "arg, key, expected",
    [
        ("stopping_condition.n_samples=50'000", ("stopping_condition", "n_samples"), 50000),
        ("stopping_condition.n_samples=0.1", ("stopping_condition", "n_samples"), 0.1),
        ("stopping_condition.min_distance=0.25", ("stopping_condition", "min_distance"), 0.25),
        ("dump_dataset=True", ("dump_dataset",), True),
        ("normalize_embeddings=false", ("normalize_embeddings",), False),
        ("scorer=", ("scorer",), ""),
        ('scorer=""', ("scorer",), ""),
        ('active_learning_score_column_name="al_score"', ("active_learning_score_column_name",), "al_score"),
        ("output_image_size=[128, 96]", ("output_image_size",), [128, 96]),
        ("output_image_size=224", ("output_image_size",), 224),
        ("checkpoint=123", ("checkpoint",), "123"),
        ("seed=1_000", ("seed",), 1000),
    ],
)
def test_values_are_parsed_like_the_worker_command_line(arg, key, expected):
    overrides = ["stopping_condition.n_samples=10", arg]
    value = resolve(overrides=overrides).to_dict()["worker_config"]
    for part in key:
        value = value[part]
    assert value == expected
    assert type(value) is type(expected)


def test_lightly_keys_go_to_the_lightly_config():
    config = resolve(overrides=["stopping_condition.n_samples=10", "lightly.loader.num_workers=4", "lightly.trainer.max_epochs=20"])
    assert config.lightly.loader.num_workers == 4
    assert config.lightly.trainer.max_epochs == 20


@pytest.mark.parametrize(
    "args, message",
    [
        (["stoping_condition.n_samples=3"], "stoping_condition.n_samples: unknown key — did you mean stopping_condition.n_samples?"),
        (["stopping_condition.n_sample=3"], "stopping_condition.n_sample: unknown key — did you mean stopping_condition.n_samples?"),
        (["lightly.loader.batchsize=3"], "lightly.loader.batchsize: unknown key — did you mean lightly.loader.batch_size?"),
        (["enable_trainin=True"], "enable_trainin: unknown key — did you mean enable_training?"),
        (["seed=abc"], "seed: expected an integer, got 'abc'"),
        (["dump_dataset=maybe"], "dump_dataset: expected true or false, got 'maybe'"),
        (["stopping_condition=3"], "stopping_condition: is a group of settings"),
        (["stopping_condition.n_samples=2.5"], "stopping_condition.n_samples: a float must be a fraction in (0, 1]"),
        (["stopping_condition.n_samples=0"], "stopping_condition.n_samples: must be -1 (inactive) or positive"),
        (["method=foo"], "method: must be one of coreset, random, coral, got 'foo'"),
        (["method=coreset"], "stopping_condition: no stopping condition"),
        (["output_image_size=[1,2,3]"], "output_image_size: a list must be [height, width]"),
        (["lightly.model.name=vgg"], "lightly.model.name: must be one of resnet-18"),
        (["lightly.collate.hf_prob=1.5"], "lightly.collate.hf_prob: is a probability"),
        (["n_samples"], "n_samples: expected key=value"),
    ],
)
def test_bad_values_name_the_key(args, message):
    if not any(a.startswith("stopping_condition.n_samples") for a in args) and "method=coreset" not in args:
        args = [*args, "stopping_condition.n_samples=10"]
    with pytest.raises(ConfigError) as err:
        resolve(overrides=args)
    assert message in str(err.value)


def test_lightly_worker_dicts_are_accepted_as_they_are():
    worker = {
        "enable_corruptness_check": True,
        "remove_exact_duplicates": True,
        "enable_training": False,
        "method": "coral",
        "stopping_condition": {"n_samples": 0.1, "min_distance": -1},
        "active_learning": {"task_name": "my-classification-task", "score_name": "uncertainty_margin"},
        "scorer": "object-frequency",
        "scorer_config": {"frequency_penalty": 0.25, "min_score": 0.9},
    }
    lightly = {"loader": {"batch_size": 16, "shuffle": True, "num_workers": -1, "drop_last": True},
               "trainer": {"gpus": 1, "max_epochs": 100, "precision": 32}}
    config = resolve(worker, lightly)
    assert config.selection.proportion_samples == 0.1
    kinds = [(s.input.type, s.strategy.type) for s in config.selection.strategies]
    assert kinds == [("EMBEDDINGS", "DIVERSITY"), ("SCORES", "WEIGHTS")]
    assert config.selection.strategies[1].input.task == "my-classification-task"


def test_wrong_type_in_a_dict_names_the_nested_key():
    with pytest.raises(ConfigError, match=r"^stopping_condition\.n_samples: expected"):
        resolve({"stopping_condition": {"n_samples": "ten"}})
    with pytest.raises(ConfigError, match=r"^lightly\.trainer\.max_epochs: expected an integer"):
        resolve({"stopping_condition": {"n_samples": 3}}, {"trainer": {"max_epochs": True}})


def test_legacy_methods_map_onto_strategies():
    coreset = resolve(overrides=["stopping_condition.n_samples=5", "stopping_condition.min_distance=0.2"]).selection
    assert coreset.n_samples == 5 and coreset.min_distance == 0.2
    random = resolve(overrides=["method=random", "stopping_condition.n_samples=5", "seed=7"]).selection
    assert random.strategies[0].input.type == "RANDOM" and random.strategies[0].input.random_seed == 7
    with pytest.raises(ConfigError, match="min_distance: needs a diversity method"):
        resolve(overrides=["method=random", "stopping_condition.min_distance=0.2"])


def test_selection_config_from_a_json_file_in_shared_dir(tmp_path):
    (tmp_path / "selection.json").write_text(json.dumps({
        "proportion_samples": 0.5,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
            {"input": {"type": "SCORES", "column": "al_score"}, "strategy": {"type": "WEIGHTS", "strength": 2}},
        ],
    }))
    config = resolve(overrides=[f"shared_dir={tmp_path}", "selection_config=selection.json"])
    assert config.explicit_selection
    assert config.selection.proportion_samples == 0.5
    assert config.selection.strategies[1].strategy.strength == 2.0


@pytest.mark.parametrize(
    "selection, message",
    [
        ({"n_samples": 3, "proportion_samples": 0.1, "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}]},
         "set exactly one of n_samples and proportion_samples"),
        ({"n_samples": 3, "strategies": []}, "selection_config.strategies: needs at least one strategy"),
        ({"n_samples": 3, "strategies": [{"input": {"type": "SCORES", "column": "s"}, "strategy": {"type": "DIVERSITY"}}]},
         "selection_config.strategies[0]: DIVERSITY cannot use SCORES input"),
        ({"n_samples": 3, "strategies": [{"input": {"type": "EMBEDINGS"}, "strategy": {"type": "DIVERSITY"}}]},
         "selection_config.strategies[0].input.type: must be one of"),
        ({"n_samples": 3, "strategies": [{"inputs": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}]},
         "selection_config.strategies[0].inputs: unknown key — did you mean selection_config.strategies[0].input"),
        ({"strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}]}, "no stopping condition"),
    ],
)
def test_bad_selection_configs_say_why(selection, message):
    with pytest.raises(ConfigError) as err:
        resolve(selection_config=selection)
    assert message in str(err.value)


def test_token_is_accepted_and_never_kept():
    config = resolve(overrides=["token=s3cr3t-token", "stopping_condition.n_samples=3"])
    assert "s3cr3t-token" not in json.dumps(config.to_dict())
