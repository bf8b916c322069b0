"""Which config keys name files or folders, and where the engine looks for each.

On the command line the user owns the machine and may point these anywhere; a server confines
them to the user's own folder. Both read :func:`config_paths`, so a new path-valued key is
declared here once and no server can forget to check it:

- the worker's file keys (:data:`FILE_KEYS`): files, relative to ``shared_dir``;
- ``selection_config.strategies[i].input.run``: an earlier run directory, relative to ``output_dir``;
- ``datapool.name``: a folder ``datapools/<name>`` under ``shared_dir`` (else ``output_dir``), made on first use
  (:func:`datapool_folder`);
- ``run_directory``: the run's own folder under ``output_dir``, made by the run.

(``selection_config`` given as a file name is read by :func:`..config.resolve` before any of
this; a server takes the selection config as a JSON object only.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..sources.base import safe_relpath
from .documents import FILE_KEYS, check_datapool_name

if TYPE_CHECKING:
    from . import RunConfig

#: What a path-valued key names: a file the run reads, an earlier run directory it reads, or a
#: folder the run writes (which need not exist yet).
Kind = Literal["file", "run", "folder"]


def resolve_in(base: str, value: str, key: str) -> Path:
    """A user path from the config: absolute as given, relative to ``base`` otherwise (the
    working directory when there is no base); a relative path must not climb out with ``..``."""
    path = Path(value)
    if path.is_absolute():
        return path
    if not base:
        return Path.cwd() / path
    return Path(base) / safe_relpath(value, key)


def datapool_folder(base: str, name: str) -> Path:
    """The folder of the datapool called ``name`` under ``base`` (a ConfigError for a bad name)."""
    check_datapool_name(name)
    return Path(base) / "datapools" / name


@dataclass(frozen=True)
class ConfigPath:
    """One path-valued key of a run's config, as given and as the engine will use it."""

    #: The dotted key, e.g. ``selection_config.strategies[0].input.run``.
    key: str
    #: The value as the user gave it.
    value: str
    #: The folder a relative value lives in (``shared_dir`` or ``output_dir``).
    base: str
    kind: Kind

    def path(self) -> Path:
        """Where the engine looks (symlinks not followed); an UnsafePathError for ``..``."""
        if self.key == "datapool.name":
            return datapool_folder(self.base, self.value)
        return resolve_in(self.base, self.value, self.key)


def config_paths(config: RunConfig) -> list[ConfigPath]:
    """Every path-valued key that ``config`` sets, in the order a user reads the documents."""
    worker = config.worker
    found = [ConfigPath(key, getattr(worker, key), config.shared_dir, "file") for key in FILE_KEYS if getattr(worker, key)]
    if worker.datapool.name:
        found.append(ConfigPath("datapool.name", worker.datapool.name, config.shared_dir or config.output_dir, "folder"))
    if worker.run_directory:
        found.append(ConfigPath("run_directory", worker.run_directory, config.output_dir, "folder"))
    for i, spec in enumerate(config.selection.strategies):
        if spec.input.run:
            found.append(ConfigPath(f"selection_config.strategies[{i}].input.run", spec.input.run, config.output_dir, "run"))
    return found


def path_of(config: RunConfig, key: str) -> Path:
    """Where the engine finds the path-valued ``key`` of ``config`` (a KeyError if it is unset)."""
    for entry in config_paths(config):
        if entry.key == key:
            return entry.path()
    raise KeyError(key)
