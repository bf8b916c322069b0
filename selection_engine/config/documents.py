"""The worker config and the lightly config (SPEC §3), every key with its default.

Field names are public interface: configs written for the Lightly worker must keep working.
Range checks live in each document's ``validate`` and name the dotted key they reject; the upper
bounds of the size-like keys (``MAX_*``) are what one machine can do, each with the reason.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..errors import ConfigError

METHODS = ("coreset", "random", "coral")
PREDICTION_POLICIES = ("fail", "skip")
IMAGE_FORMATS = ("png", "jpg", "jpeg", "bmp", "webp", "tiff")
MODEL_NAMES = ("resnet-18", "resnet-34", "resnet-50", "resnet-101", "resnet-152")
#: Worker keys that name a file (relative to shared_dir); a server must confine them to the user's folder.
FILE_KEYS = ("embeddings", "relevant_filenames_file", "labeled_filenames_file", "checkpoint")

#: A count of samples (n_samples): no run holds more images than this.
MAX_COUNT = 1_000_000_000
#: output_image_size, pixels a side: an 8192×8192 RGB image already takes 192 MiB to write.
MAX_IMAGE_SIDE = 8192
#: n_example_images: each is a figure of the report, drawn and embedded in its PDF.
MAX_EXAMPLE_IMAGES = 100
#: lightly.collate.input_size: a ResNet's memory grows with its square; SSL recipes use 32-512.
MAX_INPUT_SIZE = 1024
MAX_BATCH_SIZE = 4096
#: One training batch as float32 (two augmented views of batch_size images) must fit in memory.
MAX_BATCH_BYTES = 8 * 2**30
#: lightly.model.num_ftrs: the widest ResNet trunk (ResNet-50 and up) outputs 2048 channels.
MAX_NUM_FTRS = 2048
MAX_OUT_DIM = 8192
#: lightly.model.width: the trunk's parameters grow with its square.
MAX_WIDTH = 4
MAX_EPOCHS = 10_000
#: lightly.loader.num_workers: one loader process per core is the most that helps.
CPU_COUNT = os.cpu_count() or 1
MAX_NUM_WORKERS = max(64, CPU_COUNT)


def at_most(key: str, value: float, limit: float, why: str) -> None:
    """Refuse ``value`` above ``limit`` with a ConfigError naming ``key`` and saying ``why``."""
    if value > limit:
        raise ConfigError(key, f"at most {limit:,} ({why}), got {value:,}")


@dataclass(frozen=True)
class SampleCount:
    """What ``n_samples`` asks for: a ``count``, a ``fraction`` of the candidates, or neither."""

    count: int | None = None
    fraction: float | None = None


def count_or_fraction(n: int | float, key: str = "stopping_condition.n_samples") -> SampleCount:
    """How ``n_samples`` is read, as the Lightly worker reads it: -1 is inactive, a float in
    (0, 1] a fraction of the candidates, an integer (or a whole float) >= 1 a count.

    Raises a ConfigError naming ``key`` for anything else (0, negative values, 2.5, too large).
    """
    if n == -1:
        return SampleCount()
    if isinstance(n, float) and 0 < n <= 1:
        return SampleCount(fraction=n)
    if isinstance(n, float) and not n.is_integer():
        raise ConfigError(key, f"a float must be a fraction in (0, 1], got {n}; use an integer for a count")
    if n <= 0:
        raise ConfigError(key, f"must be -1 (inactive) or positive, got {n}")
    at_most(key, n, MAX_COUNT, "no run holds more images")
    return SampleCount(count=int(n))


@dataclass
class StoppingCondition:
    #: -1 = inactive; an int >= 1 is a count, a float in (0, 1] a fraction of the candidates.
    n_samples: int | float = -1
    #: -1 = inactive; stop once no candidate lies farther than this from the selection.
    min_distance: float = -1.0


@dataclass
class ScorerConfig:
    frequency_penalty: float = 0.25
    min_score: float = 0.9


@dataclass
class ActiveLearning:
    task_name: str = ""
    score_name: str = "uncertainty_margin"


@dataclass
class Datapool:
    name: str = ""
    keep_history: bool = True


#: A datapool's name is one folder name (``datapools/<name>``): never a path, never hidden.
DATAPOOL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def check_datapool_name(name: str) -> None:
    """A ConfigError naming ``datapool.name`` unless ``name`` is a valid pool name."""
    if not DATAPOOL_NAME.fullmatch(name):
        raise ConfigError(
            "datapool.name",
            f"{name!r} is not a valid name: up to 128 letters, digits, '.', '_' and '-', starting with a letter or digit",
        )


#: A Ray address: "local", "auto", or a head's host:port (ray:// for Ray Client).
RAY_ADDRESS = re.compile(r"local|auto|(ray://)?[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}")


def check_ray_address(value: str, key: str = "ray_address") -> None:
    """A ConfigError naming ``key`` unless ``value`` is "" (off) or a Ray address."""
    if value and not RAY_ADDRESS.fullmatch(value):
        raise ConfigError(key, f'must be "" (off), "local", "auto", host:port or ray://host:port, got {value!r}')


@dataclass
class WorkerConfig:
    enable_corruptness_check: bool = True
    remove_exact_duplicates: bool = True
    enable_training: bool = False
    checkpoint: str = ""
    embeddings: str = ""
    relevant_filenames_file: str = ""
    #: Images labeled already (outside Winnow), one path per line: they count as selected for
    #: every diversity term and are never picked again, like a datapool's earlier picks.
    labeled_filenames_file: str = ""
    normalize_embeddings: bool = True
    dump_dataset: bool = False
    #: -1 keeps the size; an int sets the short edge; [h, w] sets both.
    output_image_size: int | list[int] = -1
    output_image_format: str = "png"
    method: str = "coreset"
    stopping_condition: StoppingCondition = field(default_factory=StoppingCondition)
    scorer: str = "object-frequency"
    scorer_config: ScorerConfig = field(default_factory=ScorerConfig)
    active_learning: ActiveLearning = field(default_factory=ActiveLearning)
    active_learning_score_column_name: str = ""
    #: What an invalid prediction file does: "fail" the run, or "skip" it (listed in the report).
    invalid_predictions: str = "fail"
    datapool: Datapool = field(default_factory=Datapool)
    n_example_images: int = 6
    run_directory: str = ""
    seed: int = 0
    #: Where the image pass runs (``distributed/``): "" in this process; "local" an in-process Ray
    #: started for the run; "auto" the Ray cluster this machine belongs to; "host:port" or
    #: "ray://host:port" a cluster's head. Needs the ``distributed`` extra.
    ray_address: str = ""
    # Accepted for compatibility with Lightly worker configs; Winnow runs offline and never
    # uploads or pre-tags, so setting them true only logs a warning.
    pretagging: bool = False
    pretagging_debug: bool = False
    upload_dataset: bool = False

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ConfigError("method", f"must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.invalid_predictions not in PREDICTION_POLICIES:
            raise ConfigError(
                "invalid_predictions", f"must be fail or skip, got {self.invalid_predictions!r}"
            )
        count_or_fraction(self.stopping_condition.n_samples)
        if self.datapool.name:
            check_datapool_name(self.datapool.name)
        d = self.stopping_condition.min_distance
        if d != -1 and d < 0:
            raise ConfigError("stopping_condition.min_distance", f"must be -1 (inactive) or >= 0, got {d}")
        size = self.output_image_size
        if isinstance(size, list):
            if len(size) != 2 or min(size) <= 0:
                raise ConfigError("output_image_size", f"a list must be [height, width] with positive values, got {size}")
        elif size != -1 and size <= 0:
            raise ConfigError("output_image_size", f"must be -1, a positive short edge, or [height, width], got {size}")
        side = max(size) if isinstance(size, list) else size
        if side > MAX_IMAGE_SIDE:
            raise ConfigError(
                "output_image_size",
                f"at most {MAX_IMAGE_SIDE:,} pixels a side (an image that size takes 192 MiB to resize and write), got {size}",
            )
        if self.output_image_format.lower() not in IMAGE_FORMATS:
            raise ConfigError(
                "output_image_format", f"must be one of {', '.join(IMAGE_FORMATS)}, got {self.output_image_format!r}"
            )
        check_ray_address(self.ray_address)
        if self.n_example_images < 0:
            raise ConfigError("n_example_images", f"must be >= 0, got {self.n_example_images}")
        at_most("n_example_images", self.n_example_images, MAX_EXAMPLE_IMAGES, "each is a figure in the report")
        if not 0 <= self.scorer_config.min_score <= 1:
            raise ConfigError("scorer_config.min_score", f"must lie in [0, 1], got {self.scorer_config.min_score}")
        if self.scorer_config.frequency_penalty < 0:
            raise ConfigError("scorer_config.frequency_penalty", "must be >= 0")


@dataclass
class Loader:
    batch_size: int = 16
    shuffle: bool = True
    #: -1 = all cores.
    num_workers: int = -1
    drop_last: bool = True


@dataclass
class Model:
    name: str = "resnet-18"
    #: Output size of the projection head (used for training only).
    out_dim: int = 128
    #: Embedding size.
    num_ftrs: int = 32
    width: float = 1


@dataclass
class Trainer:
    gpus: int = 1
    max_epochs: int = 100
    #: 32, or 16 for mixed precision where the device supports it.
    precision: int = 32


@dataclass
class Criterion:
    temperature: float = 0.5


@dataclass
class Optimizer:
    lr: float = 1.0
    weight_decay: float = 0.00001


@dataclass
class Collate:
    input_size: int = 64
    cj_prob: float = 0.8
    cj_bright: float = 0.7
    cj_contrast: float = 0.7
    cj_sat: float = 0.7
    cj_hue: float = 0.2
    min_scale: float = 0.15
    random_gray_scale: float = 0.2
    gaussian_blur: float = 0.5
    kernel_size: float = 0.1
    vf_prob: float = 0.0
    hf_prob: float = 0.5
    rr_prob: float = 0.0


@dataclass
class LightlyConfig:
    loader: Loader = field(default_factory=Loader)
    model: Model = field(default_factory=Model)
    trainer: Trainer = field(default_factory=Trainer)
    criterion: Criterion = field(default_factory=Criterion)
    optimizer: Optimizer = field(default_factory=Optimizer)
    collate: Collate = field(default_factory=Collate)

    def validate(self) -> None:
        def positive(key: str, value: float) -> None:
            if value <= 0:
                raise ConfigError(f"lightly.{key}", f"must be positive, got {value}")

        if self.model.name not in MODEL_NAMES:
            raise ConfigError("lightly.model.name", f"must be one of {', '.join(MODEL_NAMES)}, got {self.model.name!r}")
        positive("loader.batch_size", self.loader.batch_size)
        at_most("lightly.loader.batch_size", self.loader.batch_size, MAX_BATCH_SIZE, "larger batches do not train better")
        if self.loader.num_workers < -1:
            raise ConfigError("lightly.loader.num_workers", "must be -1 (all cores) or >= 0")
        at_most("lightly.loader.num_workers", self.loader.num_workers, MAX_NUM_WORKERS,
                f"one loader process per CPU core is the most that helps; this machine has {CPU_COUNT}")
        positive("model.num_ftrs", self.model.num_ftrs)
        at_most("lightly.model.num_ftrs", self.model.num_ftrs, MAX_NUM_FTRS, "the widest ResNet trunk has 2,048 channels")
        positive("model.out_dim", self.model.out_dim)
        at_most("lightly.model.out_dim", self.model.out_dim, MAX_OUT_DIM, "the projection head's output size")
        positive("model.width", self.model.width)
        at_most("lightly.model.width", self.model.width, MAX_WIDTH, "the trunk's memory grows with the square of its width")
        positive("trainer.max_epochs", self.trainer.max_epochs)
        at_most("lightly.trainer.max_epochs", self.trainer.max_epochs, MAX_EPOCHS, "SimCLR recipes train for 100 to 1,000")
        if self.trainer.precision not in (16, 32):
            raise ConfigError("lightly.trainer.precision", f"must be 16 or 32, got {self.trainer.precision}")
        positive("criterion.temperature", self.criterion.temperature)
        positive("optimizer.lr", self.optimizer.lr)
        positive("collate.input_size", self.collate.input_size)
        at_most("lightly.collate.input_size", self.collate.input_size, MAX_INPUT_SIZE,
                "pixels a side; the model's memory grows with its square")
        batch_bytes = 2 * self.loader.batch_size * 3 * self.collate.input_size**2 * 4
        if batch_bytes > MAX_BATCH_BYTES:
            raise ConfigError(
                "lightly.loader.batch_size",
                f"{self.loader.batch_size} images of {self.collate.input_size}×{self.collate.input_size} pixels make a training "
                f"batch of {batch_bytes / 2**30:.1f} GiB (two float32 views each); at most {MAX_BATCH_BYTES // 2**30} GiB fit: "
                "lower batch_size or collate.input_size",
            )
        for name in ("cj_prob", "random_gray_scale", "gaussian_blur", "vf_prob", "hf_prob", "rr_prob"):
            value = getattr(self.collate, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"lightly.collate.{name}", f"is a probability and must lie in [0, 1], got {value}")
        if not 0 < self.collate.min_scale <= 1:
            raise ConfigError("lightly.collate.min_scale", f"must lie in (0, 1], got {self.collate.min_scale}")
