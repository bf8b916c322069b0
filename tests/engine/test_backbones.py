"""ResNet trunks with a width multiplier, the embedding model built on them, the projection head."""

import functools

import pytest
import torch
import torchvision

from selection_engine.config.documents import MODEL_NAMES
from selection_engine.config.documents import Model as ModelConfig
from selection_engine.embedding.backbones import build_trunk
from selection_engine.embedding.heads import ProjectionHead
from selection_engine.embedding.model import build_model
from selection_engine.errors import ConfigError

IMAGES = torch.randn(4, 3, 32, 32)


@functools.cache
def trunk(name, width=1.0):
    """Built once per test session: resnet-101/152 take a while to initialise."""
    torch.manual_seed(0)
    return build_trunk(name, width)


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name, channels", [("resnet-18", 512), ("resnet-34", 512), ("resnet-50", 2048), ("resnet-101", 2048), ("resnet-152", 2048)])
def test_every_model_name_builds_at_width_1(name, channels):
    assert name in MODEL_NAMES
    module, out_channels = trunk(name)
    assert out_channels == channels
    with torch.no_grad():
        assert module.eval()(IMAGES[:2]).shape == (2, channels, 1, 1)


@pytest.mark.parametrize("name, width, channels", [("resnet-18", 0.5, 256), ("resnet-50", 2.0, 4096), ("resnet-34", 0.3, 154), ("resnet-18", 0.001, 1)])
def test_width_scales_every_layer(name, width, channels):
    module, out_channels = trunk(name, width)
    assert out_channels == channels
    assert module.conv1.out_channels == max(1, round(64 * width))
    with torch.no_grad():
        assert module.eval()(IMAGES[:2]).shape == (2, channels, 1, 1)


def test_half_width_has_about_a_quarter_of_the_parameters():
    ratio = parameter_count(trunk("resnet-18", 0.5)[0]) / parameter_count(trunk("resnet-18")[0])
    assert 0.24 < ratio < 0.26


def test_width_1_is_torchvisions_resnet_without_its_classifier():
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None)
    module, _ = trunk("resnet-18")
    assert parameter_count(module) == parameter_count(reference) - parameter_count(reference.fc)
    expected = {k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")}
    actual = module.state_dict()
    assert actual.keys() == expected.keys()
    assert all(torch.equal(actual[k], expected[k]) for k in expected)


@pytest.mark.parametrize("num_ftrs", [16, 32])
def test_build_model_embeds_to_num_ftrs(num_ftrs):
    model = build_model(ModelConfig(name="resnet-18", num_ftrs=num_ftrs, width=0.5)).eval()
    with torch.no_grad():
        assert model(IMAGES).shape == (4, num_ftrs)


def test_same_seed_same_weights():
    config = ModelConfig(name="resnet-18", num_ftrs=16, width=0.5)
    a, b, c = build_model(config, seed=1), build_model(config, seed=1), build_model(config, seed=2)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.reduce.weight, c.reduce.weight)


def test_unknown_name_or_bad_width_is_a_config_error():
    with pytest.raises(ConfigError, match=r"lightly\.model\.name"):
        build_trunk("resnet-19", 1)
    with pytest.raises(ConfigError, match=r"lightly\.model\.width"):
        build_trunk("resnet-18", 0)


def test_projection_head_maps_embeddings_to_out_dim():
    head = ProjectionHead(num_ftrs=32, out_dim=128)
    embeddings = torch.randn(4, 32, requires_grad=True)
    projections = head(embeddings)
    assert projections.shape == (4, 128)
    projections.sum().backward()
    assert embeddings.grad is not None and embeddings.grad.abs().sum() > 0
    assert [type(m).__name__ for m in head.layers] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert head.layers[0].out_features == 32  # the hidden layer is num_ftrs wide
