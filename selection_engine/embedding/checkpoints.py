"""Checkpoints: the trained model together with the lightly config it was trained with.

A Winnow checkpoint is a ``torch.save`` of a plain dict (loadable with ``weights_only=True``):
``{"format": "winnow-checkpoint", "version": 1, "lightly_config": {...}, "model": state_dict,
"head": state_dict, "losses": [...]}``. A plain torchvision ResNet state dict (e.g. weights a
user trained elsewhere) is accepted too and loaded into the trunk.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterable
from typing import Any

import torch

from ..config.documents import LightlyConfig
from ..errors import InputError
from ..fileio import atomic_write
from .heads import ProjectionHead
from .model import EmbeddingModel, build_model

FORMAT = "winnow-checkpoint"
#: The settings that decide the network's shape; a checkpoint must agree on all of them.
ARCHITECTURE_KEYS = ("name", "width", "num_ftrs")


def save_checkpoint(
    path: str | os.PathLike[str],
    model: EmbeddingModel,
    config: LightlyConfig,
    head: ProjectionHead | None = None,
    losses: Iterable[float] = (),
) -> None:
    """Write a checkpoint atomically (a crash never leaves a truncated .ckpt)."""
    payload = {
        "format": FORMAT,
        "version": 1,
        "lightly_config": dataclasses.asdict(config),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "head": {k: v.detach().cpu() for k, v in head.state_dict().items()} if head is not None else {},
        "losses": [float(x) for x in losses],
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


def load_checkpoint(
    path: str | os.PathLike[str], config: LightlyConfig, seed: int = 0
) -> tuple[EmbeddingModel, ProjectionHead | None]:
    """The model of ``path`` for a run configured with ``config``.

    Raises InputError when the file is unreadable or its architecture (model name, width,
    num_ftrs) differs from ``config``, naming both values.
    """
    where = str(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(where, "checkpoint file not found") from None
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise InputError(where, f"not a readable PyTorch checkpoint: {type(exc).__name__}: {exc}") from None
    model = build_model(config.model, seed=seed)
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        saved = payload["lightly_config"]["model"]
        for key in ARCHITECTURE_KEYS:
            if saved.get(key) != getattr(config.model, key):
                raise InputError(
                    where,
                    f"was trained with lightly.model.{key}={saved.get(key)!r} but this run has "
                    f"lightly.model.{key}={getattr(config.model, key)!r}; set lightly.model.{key}={saved.get(key)!r}",
                )
        _load(model, payload["model"], where, strict=True)
        model.projection_learned = True
        head = None
        if payload.get("head"):
            head = ProjectionHead(config.model.num_ftrs, payload["lightly_config"]["model"]["out_dim"])
            _load(head, payload["head"], where, strict=True)
        return model, head
    if isinstance(payload, dict) and all(isinstance(v, torch.Tensor) for v in payload.values()):
        state = {k.removeprefix("module."): v for k, v in payload.items()}
        if any(k.startswith("trunk.") for k in state):
            _load(model, state, where, strict=True)
            model.projection_learned = True
        else:  # a bare torchvision ResNet: its fc layer has no place in the trunk
            _load(model.trunk, {k: v for k, v in state.items() if not k.startswith("fc.")}, where, strict=True)
        return model, None
    raise InputError(where, "is neither a Winnow checkpoint nor a model state dict")


def _load(module: torch.nn.Module, state: dict[str, Any], where: str, strict: bool) -> None:
    try:
        module.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        first = str(exc).splitlines()
        detail = "; ".join(line.strip() for line in first[1:3]) or first[0]
        raise InputError(where, f"does not fit the configured model: {detail}") from None
