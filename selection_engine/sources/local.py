"""A folder on the local disk as a source."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError, UnsafePathError
from .base import Source, is_image, safe_relpath


class LocalSource(Source):
    """Images under ``root``. Symlinks are followed only while they stay inside the root."""

    def __init__(self, root: str | os.PathLike):
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

    def list_images(self) -> list[str]:
        found = []
        self.rejected = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            here = Path(dirpath)
            rel_dir = here.relative_to(self.root).as_posix()
            prefix = "" if rel_dir == "." else rel_dir + "/"
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in list(dirnames):
                if (here / name).is_symlink():
                    dirnames.remove(name)  # never descend through links: no loops, no escapes
                    if not self._inside((here / name).resolve()):
                        self.rejected.append((prefix + name, f"symlinked folder leads outside {self.root}"))
            for name in filenames:
                if name.startswith(".") or not is_image(name):
                    continue
                path = here / name
                if path.is_symlink() and not self._inside(path.resolve()):
                    self.rejected.append((prefix + name, f"symlink leads outside {self.root}"))
                    continue
                found.append(prefix + name)
        found.sort()
        return found

    def list_files(self, prefix: str) -> list[str]:
        prefix = safe_relpath(prefix)
        folder = self._resolve(prefix)
        found: list[str] = []
        # scandir's entries know whether they are links without another syscall: a predictions
        # folder can hold 100,000 files.
        stack = [(str(folder), prefix)]
        while stack:
            path, rel = stack.pop()
            try:
                entries = list(os.scandir(path))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                name = f"{rel}/{entry.name}"
                if entry.is_symlink():
                    if not self._inside(Path(entry.path).resolve()):
                        self.rejected.append((name, f"symlink leads outside {self.root}"))
                        continue
                    if entry.is_dir():
                        continue  # never descend through links: no loops
                if entry.is_dir():
                    stack.append((entry.path, name))
                else:
                    found.append(name)
        found.sort()
        return found

    def open(self, relpath: str) -> BinaryIO:
        return open(self._resolve(relpath), "rb")

    def exists(self, relpath: str) -> bool:
        return self._resolve(relpath).is_file()

    def size(self, relpath: str) -> int:
        return self._resolve(relpath).stat().st_size
