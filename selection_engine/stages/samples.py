"""The samples a run selects from: listing, restriction, and what left before selection."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import WorkerConfig
from ..config.paths import resolve_in
from ..errors import InputError
from ..formats.embeddings import EmbeddingTable, read_embeddings
from ..progress import Reporter
from ..sources import LocalSource, Source, safe_relpath
from ..sources.base import name_problem, printable

#: removed_samples.csv's reason for a candidate the selection simply did not pick (the other
#: reasons say more: corrupt, duplicate, labeled already, a THRESHOLD, a SIMILARITY query).
PLAIN_REASON = "not selected"


@dataclass
class Samples:
    """What the stages pass along: the surviving samples and why others left."""

    filenames: list[str]
    #: every image of the datasource, also those outside this run (relevant_filenames_file)
    all_images: list[str] = field(default_factory=list)
    removed: dict[str, str] = field(default_factory=dict)  # filename → reason
    corrupt: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)  # duplicate → kept
    table: EmbeddingTable | None = None


def drop(samples: Samples, reasons: dict[str, str]) -> None:
    """Remove the samples named in ``reasons`` (and their table rows), recording why in ``samples.removed``."""
    if not reasons:
        return
    samples.removed.update(reasons)
    keep = [i for i, name in enumerate(samples.filenames) if name not in reasons]
    samples.filenames = [samples.filenames[i] for i in keep]
    if samples.table is not None:
        samples.table = samples.table.subset(keep)


def read_filename_list(shared_dir: str, value: str, key: str) -> list[str]:
    """The relative paths listed one per line in the file ``value`` that worker key ``key`` names
    (relative to ``shared_dir``; blank lines and ``#`` comments skipped); each must stay inside
    the datasource."""
    path = resolve_in(shared_dir, value, key)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(str(path), f"{key} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"{key} cannot be read: {exc}") from None
    names = []
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if entry and not entry.startswith("#"):
            names.append(safe_relpath(entry, f"{path}, line {number}"))
    return names


def list_samples(worker: WorkerConfig, shared_dir: str, source: Source | None, reporter: Reporter) -> Samples:
    """The samples of the run: the rows of ``worker.embeddings`` (whose images must be in
    ``source`` when there is one) or else every image of ``source``, restricted to
    ``worker.relevant_filenames_file``. Files are found relative to ``shared_dir``."""
    if worker.embeddings:
        reporter.log("Loading initial embedding file...")
        path = resolve_in(shared_dir, worker.embeddings, "embeddings")
        table = read_embeddings(path)
        for line, name in enumerate(table.filenames, start=2):
            safe_relpath(name, f"{path}, line {line}")
            problem = name_problem(name)
            if problem is not None:
                raise InputError(f"{path}, line {line}", f"filename {printable(name)!r}: {problem}")
        all_images = list(table.filenames)
        if source is not None:
            # One listing instead of a stat (or, on S3, a request) per row.
            all_images = source.list_images()
            listed = set(all_images)
            missing = [(line, n) for line, n in enumerate(table.filenames, start=2) if n not in listed]
            if missing:
                line, name = missing[0]
                raise InputError(
                    f"{path}, line {line}",
                    f"{name!r} is not in input_dir {source.label} ({len(missing)} of {len(table)} rows name missing files)",
                )
        samples = Samples(filenames=list(table.filenames), table=table, all_images=all_images)
        where = str(path)
    else:
        reporter.log("Loading initial dataset...")
        assert source is not None, "the pipeline has a datasource unless an embeddings file gives the samples"
        names = source.list_images()
        for name, reason in source.rejected:
            reporter.log(f"Warning: skipped {name}: {reason}.")
        samples = Samples(filenames=names, all_images=names)
        where = "input_dir" if isinstance(source, LocalSource) else source.label
    if worker.relevant_filenames_file:
        relevant = read_filename_list(shared_dir, worker.relevant_filenames_file, "relevant_filenames_file")
        present = set(samples.filenames)
        unknown = [n for n in relevant if n not in present]
        if unknown:
            raise InputError(
                worker.relevant_filenames_file,
                f"names {len(unknown)} file(s) that are not in {where}, e.g. {unknown[0]!r}",
            )
        wanted = set(relevant)
        keep = [i for i, n in enumerate(samples.filenames) if n in wanted]
        samples.filenames = [samples.filenames[i] for i in keep]
        if samples.table is not None:
            samples.table = samples.table.subset(keep)
        reporter.log(f"Restricted to the {len(keep)} files listed in {worker.relevant_filenames_file}.")
    reporter.log(f"Found {len(samples.filenames)} input images in {where}.")
    if not samples.filenames:
        raise InputError(where, "no images found (supported: jpg, jpeg, png, bmp, gif, tif, tiff, webp)")
    return samples

