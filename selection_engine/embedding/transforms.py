"""Image transforms on uint8 tensors: SimCLR's two random views for training, a fixed one for inference.

Both work on ``torchvision.transforms.v2`` tensor kernels, so a decoded image never goes back
through PIL. Output tensors are ImageNet-normalised float32, ready for the embedding model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchvision.transforms import v2

from ..config.documents import Collate

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Range the Gaussian blur's sigma is drawn from, in pixels (as in SimCLR).
BLUR_SIGMA = (0.1, 2.0)
#: One transform step: an image tensor in, an image tensor out.
Step = Callable[[torch.Tensor], torch.Tensor]


def blur_kernel_size(kernel_size: float, input_size: int) -> int:
    """The blur kernel in pixels: ``kernel_size`` is a fraction of ``input_size``.

    Rounded to the nearest odd integer (a kernel needs a centre pixel), at least 3, and at most
    ``2 * input_size - 1`` because the reflect padding around the image cannot be wider than it.
    """
    pixels = 2 * int(kernel_size * input_size // 2) + 1
    return min(max(3, pixels), 2 * input_size - 1)


class _RandomRotate90(torch.nn.Module):
    """Rotates a (..., H, W) tensor by 90° counter-clockwise with probability ``p``.

    The Lightly worker's ``rr_prob`` turns by a quarter exactly; with the flips this still reaches
    every orientation of the square crop.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if torch.rand(()) < self.p:
            return torch.rot90(image, 1, dims=(-2, -1))
        return image


def _maybe(p: float, transform: Step) -> Step:
    # RandomApply costs one random draw per image; skip it when the transform always runs.
    return transform if p >= 1 else v2.RandomApply([transform], p=p)


def _check_uint8(image: torch.Tensor) -> None:
    # A float image would pass through ToDtype unscaled and be normalised wrongly, silently.
    if image.dtype != torch.uint8:
        raise TypeError(f"expected a uint8 image tensor (3, H, W) with values 0-255, got dtype {image.dtype}")


def _to_float() -> tuple[str, Step]:
    """uint8 [0, 255] → float32 [0, 1]."""
    return "to_float", v2.ToDtype(torch.float32, scale=True)


def _normalize() -> tuple[str, Step]:
    return "normalize", v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)


class SimCLRViewTransform:
    """Two independently augmented views of one image, as SimCLR trains on.

    ``__call__(image)``: uint8 (3, H, W) → (view1, view2), each float32 (3, input_size, input_size),
    ImageNet-normalised. A probability or strength of 0 leaves its transform out of the pipeline
    (nothing is computed for it); ``active`` names the steps that remain, in order.

    Geometry runs first on uint8 (the crop shrinks the image, and resizing uint8 has a fast native
    kernel); the photometric transforms then run on float, so the colour jitter's four ops and the
    blur do not each convert uint8 → float → uint8.
    """

    def __init__(self, config: Collate):
        self.config = config
        size = config.input_size
        steps: list[tuple[str, Step]] = [
            ("random_resized_crop", v2.RandomResizedCrop(size, scale=(config.min_scale, 1.0), antialias=True)),
        ]
        if config.rr_prob > 0:
            steps.append(("random_rotate_90", _RandomRotate90(config.rr_prob)))
        if config.hf_prob > 0:
            steps.append(("horizontal_flip", v2.RandomHorizontalFlip(config.hf_prob)))
        if config.vf_prob > 0:
            steps.append(("vertical_flip", v2.RandomVerticalFlip(config.vf_prob)))
        steps.append(_to_float())
        strengths = (config.cj_bright, config.cj_contrast, config.cj_sat, config.cj_hue)
        if config.cj_prob > 0 and any(s > 0 for s in strengths):
            jitter = v2.ColorJitter(
                brightness=config.cj_bright, contrast=config.cj_contrast, saturation=config.cj_sat, hue=config.cj_hue
            )
            steps.append(("color_jitter", _maybe(config.cj_prob, jitter)))
        if config.random_gray_scale > 0:
            steps.append(("grayscale", v2.RandomGrayscale(config.random_gray_scale)))
        self.kernel_size = blur_kernel_size(config.kernel_size, size)
        if config.gaussian_blur > 0:
            blur = v2.GaussianBlur(self.kernel_size, sigma=BLUR_SIGMA)
            steps.append(("gaussian_blur", _maybe(config.gaussian_blur, blur)))
        steps.append(_normalize())
        #: The active steps in the order they run, by name (``active`` lists the names).
        self.steps: dict[str, Step] = dict(steps)
        self._pipeline = v2.Compose(list(self.steps.values()))

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(self.steps)

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_uint8(image)
        transformed: torch.Tensor = self._pipeline(image)
        return transformed, self._pipeline(image)

    def describe(self) -> str:
        """One line for the log, e.g. ``random_resized_crop → horizontal_flip → … → normalize``."""
        return " → ".join(self.active)


class EvalTransform:
    """The inference transform: uint8 (3, H, W) or (B, 3, H, W) → float32 (…, 3, input_size,
    input_size), resized to the square (the aspect ratio is not kept) and ImageNet-normalised."""

    def __init__(self, input_size: int):
        self.input_size = input_size
        steps = [("resize", v2.Resize((input_size, input_size), antialias=True)), _to_float(), _normalize()]
        self.steps: dict[str, Step] = dict(steps)
        self._pipeline = v2.Compose(list(self.steps.values()))

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        _check_uint8(image)
        transformed: torch.Tensor = self._pipeline(image)
        return transformed
