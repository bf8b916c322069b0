"""The embeddings CSV (SPEC §2.4).

``filenames,embedding_0,...,embedding_{D-1},labels`` with one row per sample; extra columns
(such as an ``al_score`` column of active-learning scores) are kept and can be used as scores.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import InputError
from ..fileio import atomic_write

_EMBEDDING_COLUMN = re.compile(r"embedding_(\d+)")


@dataclass
class EmbeddingTable:
    """filenames: N names; embeddings: float32 (N, D); labels: int64 (N,); extra: N rows."""

    filenames: list[str]
    embeddings: np.ndarray
    labels: np.ndarray
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        n = len(self.filenames)
        if self.embeddings.ndim != 2 or self.embeddings.shape[0] != n or self.labels.shape != (n,):
            raise ValueError(
                f"inconsistent shapes: {n} filenames, embeddings {self.embeddings.shape}, labels {self.labels.shape}"
            )
        if self.extra.empty:
            self.extra = pd.DataFrame(index=range(n))

    def __len__(self) -> int:
        return len(self.filenames)

    def subset(self, indices: npt.ArrayLike) -> EmbeddingTable:
        indices = np.asarray(indices, dtype=np.int64)
        return EmbeddingTable(
            filenames=[self.filenames[i] for i in indices],
            embeddings=self.embeddings[indices],
            labels=self.labels[indices],
            extra=self.extra.iloc[indices].reset_index(drop=True),
        )

    def column(self, name: str, where: str = "embeddings CSV") -> np.ndarray:
        """An extra column as float64, e.g. active-learning scores."""
        if name not in self.extra.columns:
            available = ", ".join(self.extra.columns) or "none"
            raise InputError(where, f"has no column {name!r} (extra columns: {available})")
        values = pd.to_numeric(self.extra[name], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InputError(
                f"{where}, line {bad[0] + 2}",
                f"column {name!r} holds {self.extra[name].iloc[bad[0]]!r}, expected a finite number",
            )
        return values


def normalize(embeddings: np.ndarray) -> np.ndarray:
    """Scale each row to unit Euclidean length (zero rows stay zero). float32 (N, D) → same."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return (embeddings / np.where(norms == 0, 1, norms)).astype(np.float32)


def read_embeddings(path: str | os.PathLike[str]) -> EmbeddingTable:
    """Read and validate an embeddings CSV; every error names the file and, where it can, the line."""
    where = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except FileNotFoundError:
        raise InputError(where, "embeddings file not found") from None
    except pd.errors.EmptyDataError:
        raise InputError(where, "the file is empty; expected a header filenames,embedding_0,...") from None
    except pd.errors.ParserError as exc:
        # pandas says "Expected 7 fields in line 5, saw 8": a row with more columns than the header.
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = match.groups()
            raise InputError(f"{where}, line {line}", f"has {saw} columns, the header has {expected}") from None
        raise InputError(where, f"cannot be parsed as CSV: {exc}") from None
    columns = list(frame.columns)
    if not columns or columns[0] != "filenames":
        raise InputError(f"{where}, line 1", f"the first column must be 'filenames', got {columns[:1]}")
    dims = sorted(int(m.group(1)) for c in columns if (m := _EMBEDDING_COLUMN.fullmatch(c)))
    if not dims:
        raise InputError(f"{where}, line 1", "no embedding_0, embedding_1, ... columns")
    if dims != list(range(len(dims))):
        missing = sorted(set(range(dims[-1] + 1)) - set(dims))
        raise InputError(
            f"{where}, line 1",
            f"embedding columns must be embedding_0..embedding_{dims[-1]} without gaps; missing embedding_{missing[0]}",
        )
    dup_cols = {c for c in columns if columns.count(c) > 1}
    if dup_cols:
        raise InputError(f"{where}, line 1", f"duplicate column {sorted(dup_cols)[0]!r}")

    # A short row or a blank line reads as empty cells; find the first and say which it is.
    empty_rows = np.flatnonzero((frame.to_numpy() == "").any(axis=1))
    if empty_rows.size:
        row = int(empty_rows[0])
        raise InputError(f"{where}, line {row + 2}", _describe_empty(path, row + 2, columns, frame.iloc[row]))

    embedding_cols = [f"embedding_{d}" for d in dims]
    raw = frame[embedding_cols]
    values = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad_rows, bad_cols = np.nonzero(~np.isfinite(values))
    if bad_rows.size:
        r, c = int(bad_rows[0]), int(bad_cols[0])
        raise InputError(
            f"{where}, line {r + 2}",
            f"{embedding_cols[c]} is {raw.iat[r, c]!r}; embeddings must be finite numbers (no NaN or inf)",
        )
    filenames = frame["filenames"].tolist()
    empty = [i for i, f in enumerate(filenames) if not f.strip()]
    if empty:
        raise InputError(f"{where}, line {empty[0] + 2}", "empty filename")
    seen: dict[str, int] = {}
    for i, name in enumerate(filenames):
        if name in seen:
            raise InputError(f"{where}, line {i + 2}", f"duplicate filename {name!r} (first on line {seen[name] + 2})")
        seen[name] = i
    if "labels" in frame.columns:
        labels_num = pd.to_numeric(frame["labels"], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(labels_num.to_numpy(dtype=np.float64)) | (labels_num % 1 != 0).to_numpy())
        if bad.size:
            raise InputError(f"{where}, line {bad[0] + 2}", f"labels is {frame['labels'].iat[bad[0]]!r}, expected an integer")
        labels = labels_num.to_numpy(dtype=np.int64)
    else:
        labels = np.zeros(len(frame), dtype=np.int64)
    extra = frame[[c for c in columns if c != "filenames" and c != "labels" and c not in embedding_cols]]
    return EmbeddingTable(
        filenames=filenames,
        embeddings=values.astype(np.float32),
        labels=labels,
        extra=extra.reset_index(drop=True),
    )


def _describe_empty(path: str | os.PathLike[str], line_no: int, columns: list[str], row: pd.Series) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):  # noqa: B007 (the line it stops at is read below)
            if number == line_no:
                break
    text = line.rstrip("\r\n")
    if not text.strip():
        return "empty line"
    n_fields = len(text.split(","))
    if n_fields != len(columns):
        return f"has {n_fields} columns, the header has {len(columns)}"
    return f"{row.index[(row == '').to_numpy()][0]} is empty"


def write_embeddings(path: str | os.PathLike[str], table: EmbeddingTable, extra: bool = True) -> None:
    """Write ``table`` as an embeddings CSV (atomically). ``extra`` keeps additional columns."""
    dim = table.embeddings.shape[1]
    frame = pd.DataFrame(table.embeddings, columns=[f"embedding_{d}" for d in range(dim)])
    frame.insert(0, "filenames", table.filenames)
    frame["labels"] = table.labels
    if extra:
        for name in table.extra.columns:
            frame[name] = table.extra[name].to_numpy()
    with atomic_write(path) as handle:
        frame.to_csv(handle, index=False, float_format="%.8g")
