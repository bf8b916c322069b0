"""Where images come from. All path safety of the engine lives in this package.

A source lists image files by their identity (path relative to the root, with ``/``) and opens
them; nothing outside its root can be read through it.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import IMAGE_EXTENSIONS, Source, is_image, safe_relpath
from .endpoints import EndpointPolicy
from .local import LocalSource
from .overlay import OverlaySource
from .s3 import S3Source

__all__ = [
    "DATASOURCE_KEYS", "IMAGE_EXTENSIONS", "SECRET_KEYS", "EndpointPolicy", "LocalSource", "OverlaySource", "S3Source",
    "Source", "datasource_keys", "is_image", "required_key", "safe_relpath", "source_for_input_dir", "source_from_spec",
]

#: Keys of a datasource spec per type, the required one first. The web app's model, forms and
#: API fields follow this list.
DATASOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("path",),
    "s3": ("bucket", "prefix", "endpoint_url", "region", "access_key_id", "secret_access_key"),
}
#: Keys that are never shown back to a user once stored.
SECRET_KEYS = ("secret_access_key",)
_SPEC_KEYS = {kind: (keys[:1], keys[1:]) for kind, keys in DATASOURCE_KEYS.items()}


def datasource_keys() -> tuple[str, ...]:
    """Every key of every datasource type, each once, in the order of :data:`DATASOURCE_KEYS`."""
    return tuple(dict.fromkeys(key for keys in DATASOURCE_KEYS.values() for key in keys))


def required_key(kind: str) -> str:
    """The key a datasource of this type cannot do without (``path``, ``bucket``)."""
    return DATASOURCE_KEYS[kind][0]


def source_from_spec(spec: dict[str, Any], endpoint_policy: EndpointPolicy | None = None) -> Source:
    """A source from its description, as the web app and the API store it.

    ``{"type": "local", "path": ...}`` gives a :class:`LocalSource`; ``{"type": "s3", "bucket":
    ..., "prefix": ..., "endpoint_url": ..., "region": ..., "access_key_id": ...,
    "secret_access_key": ...}`` an :class:`S3Source` (all but ``bucket`` optional; empty or null
    means unset). A missing, unknown or mistyped key is a :class:`ConfigError` naming it
    (``datasource.<key>``); so is an S3 endpoint ``endpoint_policy`` does not allow. An
    unreachable datasource is an ``InputError`` from the source.
    """
    from ..config.typed import suggest

    if not isinstance(spec, dict):
        raise ConfigError("datasource", f"expected an object with a 'type' key, got {type(spec).__name__}")
    kind = spec.get("type")
    if kind is None:
        raise ConfigError("datasource.type", f"is required: one of {', '.join(_SPEC_KEYS)}")
    if kind not in _SPEC_KEYS:
        raise ConfigError("datasource.type", f"unknown type {kind!r}; expected one of {', '.join(_SPEC_KEYS)}")
    required, optional = _SPEC_KEYS[kind]
    valid = ["type", *required, *optional]
    for key in spec:
        if key not in valid:
            hint = suggest(str(key), valid)
            raise ConfigError(f"datasource.{key}", f"unknown key for a {kind} datasource{hint}")
    values: dict[str, str | None] = {}
    for key in (*required, *optional):
        value = spec.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"datasource.{key}", f"expected a string, got {type(value).__name__}")
        if key in required and not (value or "").strip():
            raise ConfigError(f"datasource.{key}", f"is required for a {kind} datasource")
        values[key] = value or None
    if kind == "local":
        path = values["path"]
        assert path is not None, "required: checked above"
        return LocalSource(path)
    if bool(values["access_key_id"]) != bool(values["secret_access_key"]):
        missing = "secret_access_key" if values["access_key_id"] else "access_key_id"
        raise ConfigError(f"datasource.{missing}", "give both access_key_id and secret_access_key, or neither")
    bucket = values["bucket"]
    assert bucket is not None, "required: checked above"
    return S3Source(
        bucket,
        prefix=values["prefix"] or "",
        endpoint_url=values["endpoint_url"],
        region=values["region"],
        access_key_id=values["access_key_id"],
        secret_access_key=values["secret_access_key"],
        endpoint_policy=endpoint_policy,
    )


def source_for_input_dir(input_dir: str) -> Source:
    """The source the CLI's ``input_dir`` names: ``s3://bucket/prefix`` reads a bucket
    (credentials and ``AWS_ENDPOINT_URL`` from the environment, as boto3 finds them); anything
    else is a local folder."""
    if input_dir.startswith("s3://"):
        bucket, _, prefix = input_dir[len("s3://"):].partition("/")
        return S3Source(bucket, prefix)
    return LocalSource(input_dir)
