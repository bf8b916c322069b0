"""The three config documents of a run and how they are built.

:func:`resolve` is the single entry point: it takes the worker, lightly and selection configs
as dicts (from JSON) and/or ``key=value`` overrides (from a command line), validates them, and
returns a :class:`RunConfig` whose ``to_dict()`` is what lands in ``config/config.json``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..formats.jsondoc import parse_json
from .documents import LightlyConfig, WorkerConfig
from .selection import SelectionConfig, from_legacy, parse_selection_config
from .typed import CliText, build, dotted_keys, set_dotted, suggest

__all__ = [
    "LOCATION_KEYS",
    "LightlyConfig",
    "RunConfig",
    "SelectionConfig",
    "WorkerConfig",
    "all_keys",
    "parse_overrides",
    "resolve",
]

#: Keys that say where things are rather than how to select (SPEC §3, "Locations").
LOCATION_KEYS = ("input_dir", "shared_dir", "output_dir")


@dataclass
class RunConfig:
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    lightly: LightlyConfig = field(default_factory=LightlyConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    #: True when the selection came from a user's selection_config rather than ``method``.
    explicit_selection: bool = False
    input_dir: str = ""
    shared_dir: str = ""
    output_dir: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved configs, as written to ``config/config.json``."""
        return {
            "worker_config": dataclasses.asdict(self.worker),
            "lightly_config": dataclasses.asdict(self.lightly),
            "selection_config": _selection_dict(self.selection),
        }


def _selection_dict(config: SelectionConfig) -> dict[str, Any]:
    data = dataclasses.asdict(config)
    if data["n_samples"] is None:
        del data["n_samples"]
    if data["proportion_samples"] is None:
        del data["proportion_samples"]
    for spec in data["strategies"]:
        spec["input"] = {k: v for k, v in spec["input"].items() if v not in ("", None)}
        spec["strategy"] = {k: v for k, v in spec["strategy"].items() if v is not None}
    return data


def all_keys() -> list[str]:
    """Every dotted key the command line accepts, lightly keys with their ``lightly.`` prefix."""
    return (
        list(LOCATION_KEYS)
        + ["token", "selection_config"]
        + dotted_keys(WorkerConfig)
        + dotted_keys(LightlyConfig, "lightly.")
    )


def parse_overrides(args: list[str]) -> dict[str, dict[str, Any]]:
    """Split ``key=value`` arguments into the documents they belong to.

    Returns ``{"worker": {...}, "lightly": {...}, "locations": {...}, "selection": ...}`` with
    nested dicts of :class:`CliText` values, ready for :func:`resolve`.
    """
    worker: dict[str, Any] = {}
    lightly: dict[str, Any] = {}
    locations: dict[str, str] = {}
    selection: Any = None
    for arg in args:
        key, sep, value = arg.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(arg, "expected key=value (e.g. stopping_condition.n_samples=10)")
        text = CliText(value)
        if key in LOCATION_KEYS:
            locations[key] = CliText(value).strip("\"'")
        elif key == "token":
            continue  # accepted for compatibility with Lightly commands; never stored or printed
        elif key == "selection_config":
            selection = text
        elif key.startswith("lightly."):
            set_dotted(lightly, key[len("lightly."):], text)
        else:
            if key.split(".", 1)[0] not in {f.name for f in dataclasses.fields(WorkerConfig)}:
                raise ConfigError(key, "unknown key" + suggest(key, all_keys()))
            set_dotted(worker, key, text)
    return {"worker": worker, "lightly": lightly, "locations": locations, "selection": selection}


def _load_selection(value: Any, shared_dir: str) -> Any:
    """A selection config given inline (dict or JSON text) or as a path to a JSON file: the JSON
    document as given, None when there is none (``parse_selection_config`` checks its shape)."""
    if value is None or isinstance(value, dict):
        return value
    text = str(value).strip().strip("'")
    if not text:
        return None
    if text.startswith("{"):
        return _selection_document(text, "inline JSON")
    path = Path(text)
    if not path.is_absolute() and shared_dir:
        path = Path(shared_dir) / path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("selection_config", f"file not found: {path}") from None
    except OSError as exc:
        raise ConfigError("selection_config", f"{path} cannot be read: {exc.strerror}") from None
    return _selection_document(data, str(path))


def _selection_document(data: str | bytes, where: str) -> Any:
    try:
        return parse_json(data, where)  # depth and NaN/Infinity checked, as for every user document
    except InputError as exc:
        raise ConfigError("selection_config", str(exc)) from None


def resolve(
    worker_config: dict[str, Any] | None = None,
    lightly_config: dict[str, Any] | None = None,
    selection_config: dict[str, Any] | str | None = None,
    overrides: list[str] | None = None,
    **locations: str,
) -> RunConfig:
    """Validate everything and return the run's config.

    ``overrides`` (``key=value`` strings) are applied on top of the dicts. Configs written for
    the Lightly worker are accepted as they are; unknown keys are errors naming the key.
    """
    parsed = parse_overrides(overrides or [])
    worker_data = _deep_merge(dict(worker_config or {}), parsed["worker"])
    lightly_data = _deep_merge(dict(lightly_config or {}), parsed["lightly"])
    unknown = set(locations) - set(LOCATION_KEYS)
    if unknown:
        raise TypeError(f"unknown location arguments: {sorted(unknown)}")
    where = {**{k: v for k, v in locations.items() if v}, **parsed["locations"]}

    worker = build(WorkerConfig, worker_data)
    worker.validate()
    lightly = build(LightlyConfig, lightly_data, "lightly", dotted_keys(LightlyConfig, "lightly."))
    lightly.validate()

    raw_selection = parsed["selection"] if parsed["selection"] is not None else selection_config
    selection_data = _load_selection(raw_selection, where.get("shared_dir", ""))
    if selection_data:
        selection = parse_selection_config(selection_data)
    else:
        selection = from_legacy(worker)
    return RunConfig(
        worker=worker,
        lightly=lightly,
        selection=selection,
        explicit_selection=bool(selection_data),
        **where,
    )


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _deep_merge(dict(base[key]), value)
        else:
            base[key] = value
    return base
