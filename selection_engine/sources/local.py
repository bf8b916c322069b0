"""A folder on the local disk as a source."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError, MissingFile, UnsafePathError
from .base import Source, is_image, name_problem, printable, safe_relpath


class LocalSource(Source):
    """Images under ``root``. Symlinks are followed only while they stay inside the root."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(str(root), "input_dir does not exist or is not a folder")
        self._real_root = self.root.resolve()
        self._real_dirs: dict[str, Path] = {"": self._real_root}
        self.rejected = []

    @property
    def label(self) -> str:
        return str(self.root)

    def _inside(self, real: Path) -> bool:
        return real == self._real_root or self._real_root in real.parents

    def _resolve(self, relpath: str) -> Path:
        """The real path of ``relpath``, refusing anything that ends up outside the root.

        Folders are resolved once and cached, so a file costs one ``lstat`` (is it a symlink?)
        instead of a full ``realpath`` walk: this is on the path of every file the run reads.
        """
        rel = safe_relpath(relpath)
        parent, _, name = rel.rpartition("/")
        real_parent = self._real_dirs.get(parent)
        if real_parent is None:
            real_parent = (self.root / parent).resolve()
            if not self._inside(real_parent):
                raise UnsafePathError(rel, f"is behind a symlink leading outside {self.root} (to {real_parent})")
            self._real_dirs[parent] = real_parent
        path = real_parent / name
        if path.is_symlink():
            path = path.resolve()
            if not self._inside(path):
                raise UnsafePathError(rel, f"is a symlink leading outside {self.root} (to {path})")
        return path

    def _walk(self, folder: str, rel: str, skip_hidden: bool) -> list[str]:
        """Relative paths of the files under ``folder`` (whose relative path is ``rel``), sorted.

        Never descends through a symlinked folder (no loops); links leading outside the root, and
        names no output could hold (:func:`name_problem`), are skipped and recorded in ``rejected``.
        scandir entries know whether they are links without another syscall per file: a datasource
        can hold a million images.
        """
        found: list[str] = []
        stack = [(folder, rel)]
        while stack:
            path, here = stack.pop()
            try:
                entries = list(os.scandir(path))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if skip_hidden and entry.name.startswith("."):
                    continue
                name = f"{here}/{entry.name}" if here else entry.name
                problem = name_problem(name)
                if problem is not None:  # a folder with such a name is skipped with all it holds
                    self.rejected.append((printable(name), problem))
                    continue
                if entry.is_symlink():
                    is_dir = entry.is_dir()
                    if not self._inside(Path(entry.path).resolve()):
                        kind = "symlinked folder" if is_dir else "symlink"
                        self.rejected.append((name, f"{kind} leads outside {self.root}"))
                        continue
                    if is_dir:
                        continue
                if entry.is_dir():
                    stack.append((entry.path, name))
                else:
                    found.append(name)
        found.sort()
        return found

    def list_images(self) -> list[str]:
        self.rejected = []
        return [name for name in self._walk(str(self.root), "", skip_hidden=True) if is_image(name)]

    def list_files(self, prefix: str) -> list[str]:
        prefix = safe_relpath(prefix)
        return self._walk(str(self._resolve(prefix)), prefix, skip_hidden=False)

    def open(self, relpath: str) -> BinaryIO:
        try:
            return open(self._resolve(relpath), "rb")
        except FileNotFoundError:
            raise self._missing(relpath) from None

    def exists(self, relpath: str) -> bool:
        return self._resolve(relpath).is_file()

    def size(self, relpath: str) -> int:
        try:
            return self._resolve(relpath).stat().st_size
        except FileNotFoundError:
            raise self._missing(relpath) from None

    def _missing(self, relpath: str) -> MissingFile:
        where = "the datasource's folder is gone" if not self.root.is_dir() else "moved or deleted?"
        return MissingFile(relpath, f"no such file in {self.root} ({where})")
