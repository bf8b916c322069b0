"""The source interface and the checks every untrusted relative path goes through."""

from __future__ import annotations

import posixpath
import unicodedata
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


#: A relative path may be this long: RunSample.filename's column in the web app holds 1000.
MAX_PATH_CHARS = 1000
#: A file or folder name may be this long in UTF-8: what local file systems hold (NAME_MAX), so a
#: name from S3 can still be dumped to disk (dump_dataset).
MAX_NAME_BYTES = 255
#: Control characters, and the line and paragraph separators str.splitlines() also splits on.
_UNPRINTABLE = frozenset({"Cc", "Zl", "Zp"})


def printable(name: str) -> str:
    """``name`` as it can be shown or written to a log or report: bytes that are not UTF-8 as
    ``\\xff`` and control characters as ``\\n``-style escapes."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(
        character if unicodedata.category(character) not in _UNPRINTABLE else repr(character)[1:-1]
        for character in text
    )


def name_problem(relpath: str) -> str | None:
    """Why the file ``relpath`` cannot be a sample, or None when it can.

    Every output lists samples by name — CSV cells, one-name-per-line lists, log lines, JSON,
    web pages, ``data/sampled/<name>`` — so a name must be UTF-8 (a Linux name can be any bytes;
    Python hands them over as surrogates that no UTF-8 writer accepts), hold no control
    character (a newline would split a line-per-name list), and fit the lengths above.
    """
    if not relpath.isprintable():  # printable names (nearly all; a listing can hold ~1M) need no more
        try:
            relpath.encode("utf-8")
        except UnicodeEncodeError:
            return "the file name is not valid UTF-8; rename the file"
        bad = next((c for c in relpath if unicodedata.category(c) in _UNPRINTABLE), None)
        if bad is not None:
            return f"the file name contains a control character or line break (U+{ord(bad):04X}); rename the file"
    if len(relpath) > MAX_PATH_CHARS:
        return f"the path is {len(relpath):,} characters long; at most {MAX_PATH_CHARS:,} are supported"
    if len(relpath.encode("utf-8")) > MAX_NAME_BYTES:
        longest = max(len(part.encode("utf-8")) for part in relpath.split("/"))
        if longest > MAX_NAME_BYTES:
            return f"a name in the path is {longest} bytes long; at most {MAX_NAME_BYTES} are supported"
    return None


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
