"""SimCLR's two-view augmentation and the inference transform, on uint8 image tensors."""

import pytest
import torch

from selection_engine.config.documents import Collate
from selection_engine.embedding.transforms import EvalTransform, SimCLRViewTransform, blur_kernel_size

SIZE = 32
#: Every augmentation off: only the (full-image) crop, the float conversion and normalisation run.
PLAIN = dict(min_scale=1.0, cj_prob=0, random_gray_scale=0, gaussian_blur=0, hf_prob=0, vf_prob=0, rr_prob=0)
#: Every augmentation on, so that each can be switched off.
ALL_ON = dict(vf_prob=0.5, rr_prob=0.5)


def image(height=SIZE, width=SIZE, seed=0):
    return torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_both_views_are_normalised_floats_of_input_size():
    torch.manual_seed(0)
    transform = SimCLRViewTransform(Collate(input_size=SIZE))
    views = transform(image(48, 40))
    assert len(views) == 2
    for view in views:
        assert view.shape == (3, SIZE, SIZE) and view.dtype == torch.float32
        assert view.isfinite().all()


def test_the_two_views_differ():
    torch.manual_seed(0)
    view1, view2 = SimCLRViewTransform(Collate(input_size=SIZE))(image(48, 40))
    assert not torch.equal(view1, view2)


def test_with_every_augmentation_off_both_views_are_the_plain_image():
    transform = SimCLRViewTransform(Collate(input_size=SIZE, **PLAIN))
    assert transform.active == ("random_resized_crop", "to_float", "normalize")
    img = image()
    view1, view2 = transform(img)
    assert torch.equal(view1, view2)
    assert torch.allclose(view1, EvalTransform(SIZE)(img))


@pytest.mark.parametrize(
    "key, step",
    [
        ("cj_prob", "color_jitter"),
        ("random_gray_scale", "grayscale"),
        ("gaussian_blur", "gaussian_blur"),
        ("hf_prob", "horizontal_flip"),
        ("vf_prob", "vertical_flip"),
        ("rr_prob", "random_rotate_90"),
    ],
)
def test_a_key_set_to_zero_removes_its_transform(key, step):
    assert step in SimCLRViewTransform(Collate(input_size=SIZE, **ALL_ON)).active
    without = SimCLRViewTransform(Collate(input_size=SIZE, **{**ALL_ON, key: 0}))
    assert step not in without.active
    assert step not in without.describe()


def test_colour_jitter_with_no_strength_is_removed():
    transform = SimCLRViewTransform(Collate(input_size=SIZE, cj_bright=0, cj_contrast=0, cj_sat=0, cj_hue=0))
    assert "color_jitter" not in transform.active


@pytest.mark.parametrize(
    "kernel_size, input_size, pixels",
    [(0.1, 64, 7), (0.1, 100, 11), (0.1, 32, 3), (0.25, 32, 9), (0.01, 64, 3), (0.5, 30, 15), (5.0, 8, 15)],
)
def test_blur_kernel_is_an_odd_fraction_of_the_input_size(kernel_size, input_size, pixels):
    assert blur_kernel_size(kernel_size, input_size) == pixels


def test_the_pipeline_blurs_with_the_computed_kernel():
    transform = SimCLRViewTransform(Collate(input_size=64, kernel_size=0.1, gaussian_blur=1.0))
    assert transform.kernel_size == 7
    assert tuple(transform.steps["gaussian_blur"].kernel_size) == (7, 7)
    assert all(blur_kernel_size(k / 100, 64) % 2 == 1 for k in range(101))


@pytest.mark.parametrize(
    "key, expected",
    [
        ("hf_prob", lambda img: torch.flip(img, dims=[-1])),
        ("vf_prob", lambda img: torch.flip(img, dims=[-2])),
        ("rr_prob", lambda img: torch.rot90(img, 1, dims=(-2, -1))),
    ],
)
def test_probability_one_applies_the_geometric_transform_every_time(key, expected):
    transform = SimCLRViewTransform(Collate(input_size=SIZE, **{**PLAIN, key: 1.0}))
    img = image()
    for view in transform(img):
        assert torch.allclose(view, EvalTransform(SIZE)(expected(img)))


def test_eval_transform_resizes_and_normalises():
    transform = EvalTransform(SIZE)
    assert transform(image(50, 70)).shape == (3, SIZE, SIZE)
    assert transform(torch.stack([image(50, 70), image(50, 70, seed=1)])).shape == (2, 3, SIZE, SIZE)
    # A grey image at the ImageNet mean normalises to (almost) zero.
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1) * 255
    grey = mean.round().to(torch.uint8).expand(3, 40, 40).contiguous()
    assert transform(grey).abs().max() < 0.01


def test_float_images_are_rejected():
    with pytest.raises(TypeError, match="uint8"):
        EvalTransform(SIZE)(torch.rand(3, SIZE, SIZE))
    with pytest.raises(TypeError, match="uint8"):
        SimCLRViewTransform(Collate(input_size=SIZE))(torch.rand(3, SIZE, SIZE))
