"""The labels of an evaluation: an uploaded ``filenames,labels`` CSV read defensively, or the
dataset's image folders, then checked against the protocol before anything is queued.

The upload is hostile until read: its size is capped before a byte is parsed, it must be UTF-8,
and every row is checked (one filename and one label, an image of this dataset, listed once), the
first bad row named by its line. Only the validated rows are ever written to disk, by the service,
inside the user's folder.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import cast

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from selection_engine.config import RunConfig
from selection_engine.errors import ConfigError
from selection_engine.evaluation.command import EvaluationConfig, read_labels
from selection_engine.evaluation.command import check_labels as engine_check_labels

#: A labels CSV larger than this is refused unread (20 MB holds a few hundred thousand rows).
MAX_LABELS_BYTES = 20 * 1024 * 1024
MAX_LABEL_CHARS = 200
#: A longer line is refused before the csv module splits it (a 20 MB line of commas would be
#: millions of fields in memory); a filename (4096 at most) and a label, quoted, fit easily.
MAX_LINE_CHARS = 16 * 1024
COLUMNS = ("filenames", "labels")


def read_labels_csv(upload, images: set[str], dataset_name: str) -> dict[str, str]:
    """{filename: label} of an uploaded CSV; a ValidationError on ``labels_csv`` naming the line
    of the first bad row. ``images``: the dataset's image names (relative, as the engine lists them)."""

    def refuse(message: str) -> ValidationError:
        return ValidationError({"labels_csv": f"{upload.name}: {message}"})

    limit = _size(MAX_LABELS_BYTES)
    if upload.size > MAX_LABELS_BYTES:
        raise refuse(f"{_size(upload.size)} is over the limit of {limit} for a labels CSV.")
    data = upload.read(MAX_LABELS_BYTES + 1)
    if len(data) > MAX_LABELS_BYTES:  # the declared size lied
        raise refuse(f"over the limit of {limit} for a labels CSV.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text (byte {exc.start}); save the CSV as UTF-8.") from None

    def lines():
        for number, line in enumerate(io.StringIO(text, newline=""), start=1):
            if len(line) > MAX_LINE_CHARS:
                raise refuse(f"line {number}: longer than {MAX_LINE_CHARS} characters (one filename and one label per line).")
            yield line

    reader = csv.reader(lines())
    labels: dict[str, str] = {}
    first_line: dict[str, int] = {}
    try:
        header = [cell.strip() for cell in next(reader, [])]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            found = ",".join(header) if any(header) else "nothing"
            raise refuse(f"line 1: the header must name the columns filenames,labels; found {found[:200]}.")
        where = [header.index(c) for c in COLUMNS]
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise refuse(f"line {line}: expected {len(header)} fields like the header, found {len(row)}.")
            name, label = (row[i].strip() for i in where)
            if not name:
                raise refuse(f"line {line}: the filename is empty.")
            if name not in images:
                example = f" (names are relative to the dataset's folder, e.g. {min(images)})" if images else ""
                raise refuse(f"line {line}: {name[:300]} is not an image of dataset {dataset_name}{example}.")
            if not label:
                raise refuse(f"line {line}: the label of {name} is empty.")
            if len(label) > MAX_LABEL_CHARS:
                raise refuse(f"line {line}: the label of {name} is longer than {MAX_LABEL_CHARS} characters.")
            if any(unicodedata.category(c) == "Cc" for c in label):
                raise refuse(f"line {line}: the label of {name} contains a control character (a NUL byte, a line break, ...).")
            if name in labels:
                raise refuse(f"line {line}: {name} is listed twice (first on line {first_line[name]}).")
            labels[name] = label
            first_line[name] = line
    except csv.Error as exc:
        raise refuse(f"line {reader.line_num}: not valid CSV ({exc}).") from None
    if not labels:
        raise refuse("it lists no images (one row per image: filename,label).")
    return labels


def _size(n_bytes: int) -> str:
    return filesizeformat(n_bytes).replace("\xa0", " ")


def folder_labels(config: RunConfig, images: list[str]) -> dict[str, str]:
    """{filename: first folder name}, by the engine's own rule; a ValidationError when the images
    do not lie in one folder per class."""
    try:
        series = read_labels(config, EvaluationConfig(), images)
    except ConfigError:
        raise ValidationError({"labels_source": (
            "The images are not in one folder per class (every image in a sub-folder, at least two "
            "sub-folders): upload a labels CSV instead."
        )}) from None
    return cast(dict[str, str], series.to_dict())  # filenames → folder names, as the engine reads them


def check_labels(labels: dict[str, str], options: EvaluationConfig, field: str) -> None:
    """The engine's rule (``check_labels``: two classes or more, two images per class, a protocol
    that fits the pool), as a form error on ``field`` (``rounds`` for a protocol too large)."""
    try:
        engine_check_labels(list(labels.values()), options)
    except ConfigError as exc:
        target = "rounds" if exc.key == "evaluation.rounds" else field
        raise ValidationError({target: f"{exc.reason[:1].upper()}{exc.reason[1:]}."}) from None
