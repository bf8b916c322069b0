"""Downloads: every response that hands the browser a file names it through one header builder.

A file's name can be anything a user typed (a tag called ``cats "v2"`` or one with a newline,
stored before names were checked) or found in a datasource (``données.csv``). Put raw into
``Content-Disposition`` a quote ends the name early and a newline makes Django refuse the header
(a 500), so the header carries an ASCII ``filename="..."`` with every unsafe character replaced,
and, when that differs from the real name, the real name as RFC 6266/5987's
``filename*=UTF-8''...`` (which every current browser prefers).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

from django.http import FileResponse, HttpResponse

#: What may stand in the quoted ASCII name: printable ASCII without quotes, backslashes, path
#: separators, "%" (read as an escape by some browsers), ";" and the characters Windows refuses.
_ASCII_SAFE = re.compile(r"[A-Za-z0-9 !#$&'()+,\-.=@\[\]^_`{}~]")
#: No file on disk may hold these: control characters and path separators.
_UNSAVEABLE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")


def _ascii(char: str) -> str:
    """``char`` if it is safe in a quoted name, its unaccented letter ("é" → "e"), else "_"."""
    base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return base if base and all(_ASCII_SAFE.fullmatch(c) for c in base) else "_"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """The ``Content-Disposition`` value offering ``filename``, safe for any name.

    ``attachment; filename="cats_v2_.csv"; filename*=UTF-8''cats%20%22v2%22.csv``; a plain ASCII
    name gives just ``attachment; filename="name.csv"``.
    """
    # A name read from disk that is not UTF-8 holds lone surrogates: shown as U+FFFD.
    real = filename.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    real = _UNSAVEABLE.sub("_", real).strip() or "download"
    fallback = "".join(_ascii(c) for c in real)
    value = f'{"inline" if inline else "attachment"}; filename="{fallback}"'
    if fallback != real:
        value += f"; filename*=UTF-8''{quote(real, safe='')}"
    return value


def attachment(content: str | bytes, filename: str, content_type: str) -> HttpResponse:
    """``content`` to be saved as ``filename``."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition(filename)
    return response


def file_response(path: Path, content_type: str, *, inline: bool = False) -> FileResponse:
    """The file at ``path``, streamed, offered under its own name (shown in the browser if ``inline``)."""
    # Opened by its bytes path, the file's name is not a str, so Django writes no header of its
    # own from it (its own encoding fails on a name that is not UTF-8).
    # Not a with-block: the response owns the file and closes it once it has been sent.
    response = FileResponse(open(os.fsencode(path), "rb"), content_type=content_type)  # noqa: SIM115
    response["Content-Disposition"] = content_disposition(path.name, inline=inline)
    return response
