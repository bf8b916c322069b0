"""Building typed config dataclasses from plain dicts, with errors that name the key.

Values arrive either typed (from JSON: the web app, the API, a config file) or as text from a
command line, wrapped in :class:`CliText`. Text is converted according to the field's declared
type, so ``checkpoint=123`` stays the string ``"123"`` while ``seed=123`` becomes an int.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigError, InputError
from ..formats.jsondoc import parse_json

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

#: A config dataclass.
D = TypeVar("D", bound="DataclassInstance")


class CliText(str):
    """A value exactly as typed on a command line, not yet converted to its field's type."""


_NUMBER = re.compile(r"[+-]?(\d[\d'_]*)?(\.\d*)?([eE][+-]?\d+)?")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse_number(text: str, key: str) -> int | float:
    """``"50'000"`` → 50000, ``"0.1"`` → 0.1, ``"1e-5"`` → 1e-05; anything else is an error."""
    raw = _unquote(text.strip())
    if not raw or not _NUMBER.fullmatch(raw) or not any(c.isdigit() for c in raw):
        raise ConfigError(key, f"expected a number, got {text!r}")
    cleaned = raw.replace("'", "").replace("_", "")
    if re.fullmatch(r"[+-]?\d+", cleaned):
        return int(cleaned)
    return float(cleaned)


def _parse_list_text(text: str, key: str) -> list[str]:
    raw = _unquote(text.strip())
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    elif "," not in raw:
        raise ConfigError(key, f"expected a list such as [224,224], got {text!r}")
    return [CliText(part.strip()) for part in raw.split(",") if part.strip()]


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert ``value`` to the declared type ``tp`` or raise a ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None and type(None) in typing.get_args(tp):
            return None
        if isinstance(value, CliText) and float in options and int in options:
            return parse_number(value, key)
        for option in options:
            try:
                return coerce(value, option, key)
            except ConfigError:
                pass
        raise ConfigError(key, f"expected {' or '.join(map(_type_name, options))}, got {value!r}")
    if origin is list:
        (item_type,) = typing.get_args(tp)
        if isinstance(value, CliText):
            value = _parse_list_text(value, key)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"expected a list, got {value!r}")
        return [coerce(v, item_type, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if isinstance(value, CliText):
            try:
                value = parse_json(value, key)
            except InputError as exc:
                raise ConfigError(key, f"expected a JSON object ({exc.reason}), got {value!r}") from None
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected an object, got {value!r}")
        _, item_type = typing.get_args(tp)
        return {str(k): coerce(v, item_type, f"{key}.{k}") for k, v in value.items()}
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, CliText):
            low = _unquote(value).strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, CliText):
            try:
                value = parse_number(value, key)
            except ConfigError:
                raise ConfigError(key, f"expected an integer, got {value!r}") from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(key, f"expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, CliText):
            value = parse_number(value, key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(key, f"expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, CliText):
            return _unquote(str(value))
        if isinstance(value, str):
            return value
        raise ConfigError(key, f"expected a string, got {value!r}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, CliText):
            first = dataclasses.fields(tp)[0].name
            raise ConfigError(key, f"is a group of settings; set its keys, e.g. {key}.{first}=...")
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected an object, got {value!r}")
        return build(tp, value, key)
    raise TypeError(f"unsupported config type {tp!r} for {key}")  # a bug in a config class


def dotted_keys(cls: type[DataclassInstance], prefix: str = "") -> list[str]:
    """Every settable dotted key of a config dataclass, e.g. ``stopping_condition.n_samples``."""
    keys = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        name = f"{prefix}{field.name}"
        tp = hints[field.name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            keys.extend(dotted_keys(tp, name + "."))
        else:
            keys.append(name)
    return keys


def suggest(key: str, valid: list[str]) -> str:
    """`` — did you mean X?`` for the closest valid key, or the empty string."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if not close:
        leaf = key.rsplit(".", 1)[-1]
        close = [v for v in valid if v.rsplit(".", 1)[-1] == leaf][:1]
    return f" — did you mean {close[0]}?" if close else ""


def build(cls: type[D], data: dict[str, Any], prefix: str = "", root_keys: list[str] | None = None) -> D:
    """Instantiate dataclass ``cls`` from ``data``; missing keys keep their defaults.

    ``prefix`` is the dotted path of ``data`` (for messages); ``root_keys`` lists every valid
    key of the whole document so a misspelt key can be matched against all of them.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    full_prefix = f"{prefix}." if prefix else ""
    valid = root_keys if root_keys is not None else dotted_keys(cls, full_prefix)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{full_prefix}{name}"
        if name not in names:
            raise ConfigError(key, "unknown key" + suggest(key, valid))
        tp = hints[name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
            kwargs[name] = build(tp, value, key, valid)
        else:
            kwargs[name] = coerce(value, tp, key)
    return cls(**kwargs)


def set_dotted(target: dict[str, Any], key: str, value: Any) -> None:
    """``set_dotted(d, "a.b", 1)`` makes ``d == {"a": {"b": 1}}`` (merging with what is there)."""
    parts = key.split(".")
    node = target
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(".".join(parts[: i + 1]), f"is a group of settings; set its keys, e.g. {key}=...")
        node = child
    node[parts[-1]] = value
