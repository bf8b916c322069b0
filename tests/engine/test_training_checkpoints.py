"""Self-supervised training in a run, checkpoints written and reused, mismatches refused."""

import io
import json

import pandas as pd
import pytest
import torch

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.embedding.checkpoints import load_checkpoint, save_checkpoint
from selection_engine.embedding.heads import ProjectionHead
from selection_engine.embedding.model import build_model
from selection_engine.errors import InputError
from tests.factories import image_folder

SMALL = ["lightly.collate.input_size=32", "lightly.loader.num_workers=0", "lightly.loader.batch_size=8"]


def run(tmp_path, root, *args):
    config = resolve(overrides=[f"input_dir={root}", f"output_dir={tmp_path / 'out'}", "stopping_condition.n_samples=4", *SMALL, *args])
    log = io.StringIO()
    return pipeline.run(config, show_bars=False, stream=log), log.getvalue()


def test_train_then_reuse_the_checkpoint(tmp_path, monkeypatch):
    from selection_engine.embedding import quality

    monkeypatch.setattr(quality, "WORSE_BELOW", 0.0)  # the run embeds with its trained weights (see test_training_quality_check)
    root = tmp_path / "images"
    image_folder(root, n=20)
    trained, log = run(tmp_path, root, "enable_training=True", "lightly.trainer.max_epochs=2", "run_directory=first")
    checkpoint = trained.run_dir / "checkpoints/last.ckpt"
    assert checkpoint.is_file()
    assert "Epoch 1/2: loss" in log and "Epoch 2/2: loss" in log
    report = json.loads((trained.run_dir / "report.json").read_text())
    assert len(report["job"]["training"]["losses"]) == 2
    assert len(trained.selected) == 4

    reused, log = run(tmp_path, root, f"checkpoint={checkpoint}", "run_directory=second")
    assert "Training self-supervised model" not in log
    assert f"Loaded checkpoint {checkpoint}" in log
    first = pd.read_csv(trained.run_dir / "data/embeddings.csv").set_index("filenames")
    second = pd.read_csv(reused.run_dir / "data/embeddings.csv").set_index("filenames")
    pd.testing.assert_frame_equal(first, second, atol=1e-5)  # same trained model, same embeddings
    random = pd.read_csv(run(tmp_path, root, "run_directory=third")[0].run_dir / "data/embeddings.csv").set_index("filenames")
    assert not random.equals(first)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("num_ftrs", 16, "was trained with lightly.model.num_ftrs=32 but this run has lightly.model.num_ftrs=16"),
        ("name", "resnet-34", "was trained with lightly.model.name='resnet-18' but this run has lightly.model.name='resnet-34'"),
        ("width", 0.5, "was trained with lightly.model.width=1 but this run has lightly.model.width=0.5"),
    ],
)
def test_a_checkpoint_of_another_architecture_is_refused(tmp_path, key, value, expected):
    config = resolve(overrides=["stopping_condition.n_samples=1"]).lightly
    save_checkpoint(tmp_path / "a.ckpt", build_model(config.model), config)
    setattr(config.model, key, value)
    with pytest.raises(InputError) as err:
        load_checkpoint(tmp_path / "a.ckpt", config)
    assert expected in str(err.value)


def test_unreadable_and_foreign_files_are_refused(tmp_path):
    config = resolve(overrides=["stopping_condition.n_samples=1"]).lightly
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"junk\.ckpt: not a readable PyTorch checkpoint"):
        load_checkpoint(tmp_path / "junk.ckpt", config)
    with pytest.raises(InputError, match="checkpoint file not found"):
        load_checkpoint(tmp_path / "missing.ckpt", config)
    torch.save({"conv1.weight": torch.zeros(3, 3)}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="does not fit the configured model"):
        load_checkpoint(tmp_path / "other.pt", config)


def test_a_torchvision_resnet_state_dict_loads_into_the_trunk(tmp_path):
    import torchvision

    resnet = torchvision.models.resnet18(weights=None)
    torch.save(resnet.state_dict(), tmp_path / "resnet18.pth")
    config = resolve(overrides=["stopping_condition.n_samples=1"]).lightly
    model, head = load_checkpoint(tmp_path / "resnet18.pth", config)
    assert head is None
    assert torch.equal(model.trunk.conv1.weight, resnet.conv1.weight)


def test_embedding_and_projection_shapes_follow_num_ftrs_and_out_dim(tmp_path):
    config = resolve(overrides=["stopping_condition.n_samples=1", "lightly.model.num_ftrs=24", "lightly.model.out_dim=40"]).lightly
    model = build_model(config.model).eval()
    head = ProjectionHead(config.model.num_ftrs, config.model.out_dim).eval()
    with torch.no_grad():
        features = model(torch.randn(3, 3, 32, 32))
        assert features.shape == (3, 24)
        assert head(features).shape == (3, 40)
    save_checkpoint(tmp_path / "c.ckpt", model, config, head)
    _, loaded_head = load_checkpoint(tmp_path / "c.ckpt", config)
    assert loaded_head is not None and loaded_head(features).shape == (3, 40)
