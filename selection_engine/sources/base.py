"""The source interface and the checks every untrusted relative path goes through."""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from typing import BinaryIO

from ..errors import UnsafePathError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def is_image(name: str) -> bool:
    """True for the supported image extensions, whatever their case."""
    return posixpath.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def safe_relpath(path: str, where: str = "") -> str:
    """Return ``path`` normalised to ``a/b.jpg`` or raise :class:`UnsafePathError`.

    Rejects absolute paths, ``..`` segments, drive letters, NUL bytes and empty names, so the
    result can be joined to a root without leaving it. ``where`` names the file/line the path
    came from, for the message.
    """
    label = where or repr(path)
    if not path or not path.strip():
        raise UnsafePathError(label, "empty path")
    if "\x00" in path:
        raise UnsafePathError(label, f"path {path!r} contains a NUL byte")
    candidate = path.replace("\\", "/")
    if candidate.startswith("/") or (len(candidate) > 1 and candidate[1] == ":"):
        raise UnsafePathError(label, f"absolute path {path!r} is not allowed; give a path relative to the root")
    parts = [p for p in candidate.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePathError(label, f"path {path!r} contains '..' and would leave the root")
    if not parts:
        raise UnsafePathError(label, f"path {path!r} names no file")
    return "/".join(parts)


class Source(ABC):
    """A tree of images addressed by relative paths."""

    #: Paths skipped while listing, with the reason (e.g. a symlink leaving the root).
    rejected: list[tuple[str, str]]
    #: Threads worth using for many small reads: 1 for a local disk, more for a network store.
    io_threads: int = 1

    @property
    @abstractmethod
    def label(self) -> str:
        """How the source is named in log lines and messages."""

    @abstractmethod
    def list_images(self) -> list[str]:
        """Relative paths of every supported image, sorted; hidden files and folders excluded."""

    @abstractmethod
    def list_files(self, prefix: str) -> list[str]:
        """Relative paths of every file under the folder ``prefix`` (hidden ones included), sorted.

        Used for the ``.lightly/`` folder; an absent folder gives an empty list.
        """

    @abstractmethod
    def open(self, relpath: str) -> BinaryIO:
        """Open one file for reading; raises UnsafePathError for paths leaving the root."""

    @abstractmethod
    def exists(self, relpath: str) -> bool:
        """Whether a file exists at ``relpath`` (after the safety checks)."""

    @abstractmethod
    def size(self, relpath: str) -> int:
        """Size of the file in bytes."""

    def read_bytes(self, relpath: str) -> bytes:
        with self.open(relpath) as handle:
            return handle.read()
