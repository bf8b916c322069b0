"""Exports of a set of a dataset's images — a tag, or a run's selection — for people and for
labeling tools: the one home of the formats, used by the pages and the API alike.

``csv``, ``json``, ``txt``
    The filenames (a column with a header; an object with the tag or run, the dataset and the
    list; one per line).
``labelstudio``
    A Label Studio tasks file: ``[{"data": {"image": <reference>, "filename", "selected", "rank",
    "score" (the run's primary score), "scores" (all)}, "meta": {"dataset", "tag" | "run"}}, ...]``.
    The image reference is what Label Studio's storages resolve: ``s3://<bucket>/<prefix>/<file>``
    for an S3 datasource (import into a project with an S3 source storage on that bucket), and
    for a local folder ``/data/local-files/?d=<file>``, the path relative to the dataset's folder (start Label
    Studio with ``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true`` and
    ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` = that folder, wherever it is mounted, and add a
    Local Files storage on it): relative, so it holds wherever Label Studio sees the folder.
``coco``
    A COCO-style images list: ``{"info", "images": [{"id", "file_name", "width", "height"}],
    "annotations": [], "categories"}``; width and height come from the metadata the run computed
    (``lightly.width``/``lightly.height``) and are left out of an image Winnow has no run data
    for (a tag made from a list of filenames); categories are the classes of the run's task.
``zip``
    The image files themselves under their relative paths, streamed as they are read from the
    datasource (never built in memory or on disk). A file that cannot be read is listed with the
    reason in ``winnow-missing-files.txt`` at the end of the archive: the download has already
    begun when a read fails, so it cannot turn into an error page.

Scores, ranks and sizes come from the run the set was made from (a tag's run, if it still
exists); a tag made from a plain list of filenames exports its filenames and image references.
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, cast
from urllib.parse import quote

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from selection_engine.errors import WinnowError
from selection_engine.sources import Source

from ..downloads import attachment, content_disposition
from ..runs.models import RunSample
from .models import Dataset, Tag
from .services import engine_source


@dataclass(frozen=True)
class ExportFormat:
    label: str  #: the link's text on the pages
    suffix: str  #: of the downloaded file's name
    content_type: str
    description: str  #: for the API's documentation and the links' tooltips
    for_labeling: bool  #: a labeling tool's format (the pages list these first), else a list of filenames


#: Every format by its ``file_format`` name, in the pages' order: labeling tools first.
FORMATS: dict[str, ExportFormat] = {
    "labelstudio": ExportFormat(
        "Label Studio", ".labelstudio.json", "application/json; charset=utf-8",
        "Label Studio tasks: [{data: {image, filename, selected, rank, score, scores}, meta}]; image is s3://bucket/key "
        "for an S3 datasource, /data/local-files/?d=<path relative to the dataset folder> for a local one",
        for_labeling=True,
    ),
    "coco": ExportFormat(
        "COCO", ".coco.json", "application/json; charset=utf-8",
        "COCO-style {info, images: [{id, file_name, width, height}], annotations: [], categories}",
        for_labeling=True,
    ),
    "zip": ExportFormat("images (zip)", ".zip", "application/zip", "the image files, streamed as a zip archive",
                        for_labeling=True),
    "csv": ExportFormat("CSV", ".csv", "text/csv; charset=utf-8", "one column `filenames`, with a header",
                        for_labeling=False),
    "json": ExportFormat("JSON", ".json", "application/json; charset=utf-8", "{tag or run, dataset, size, filenames}",
                         for_labeling=False),
    "txt": ExportFormat("list", ".txt", "text/plain; charset=utf-8", "one filename per line", for_labeling=False),
}
#: The file listing what a zip export could not read.
MISSING_LIST = "winnow-missing-files.txt"
#: Bytes read from the datasource at a time while streaming a zip.
CHUNK = 1 << 20


def format_choices() -> str:
    return ", ".join(FORMATS)


@dataclass
class ImageSet:
    """What an export holds: ``filenames`` of ``dataset`` (in the export's order)."""

    name: str  #: the download's name without suffix: the tag's name, ``run-12-selected``
    dataset: Dataset
    origin: dict[str, Any]  #: {"tag": "cats"} or {"run": 12}: named in the JSON exports
    filenames: list[str]
    #: The run's rows for these filenames (scores, rank, computed sizes); None without a run.
    samples: QuerySet | None = None
    categories: list[str] = field(default_factory=list)


def of_tag(tag: Tag) -> ImageSet:
    names = list(tag.items.order_by("filename").values_list("filename", flat=True))
    run = tag.run
    samples = run.samples.filter(filename__in=tag.items.values("filename")) if run is not None else None
    return ImageSet(tag.name, tag.dataset, {"tag": tag.name}, names, samples, _categories(run))


def of_selection(run) -> ImageSet:
    """A completed run's selection, by rank (the caller checks the run is completed)."""
    samples = run.samples.filter(selected=True)
    names = list(samples.order_by("rank", "id").values_list("filename", flat=True))
    return ImageSet(f"run-{run.pk}-selected", run.dataset, {"run": run.pk}, names, samples, _categories(run))


def _categories(run) -> list[str]:
    if run is None:
        return []
    from ..gallery.selectors import classes_of  # the classes of the run's primary task

    return classes_of(run)


def _rows(images: ImageSet) -> dict[str, dict[str, Any]]:
    """filename → {"selected", "rank", "score", "scores", "metadata"} of the run's samples."""
    if images.samples is None:
        return {}
    fields = ("filename", "selected", "rank", "score", "scores", "metadata")
    return {row["filename"]: row for row in images.samples.values(*fields)}


def image_reference(dataset: Dataset, relpath: str) -> str:
    """How Label Studio finds the image: its S3 URL, or its local-files URL relative to the
    dataset's folder (the storage root Label Studio is given)."""
    if dataset.source_type == Dataset.S3:
        key = f"{dataset.prefix.strip('/')}/{relpath}" if dataset.prefix.strip("/") else relpath
        return f"s3://{dataset.bucket}/{key}"
    return "/data/local-files/?d=" + quote(relpath, safe="/")


def _size(metadata: dict[str, Any]) -> dict[str, int]:
    """{"width", "height"} from the run's computed metadata, or {} when it has none."""
    try:
        width, height = int(metadata["lightly.width"]), int(metadata["lightly.height"])
    except (KeyError, TypeError, ValueError):
        return {}
    return {"width": width, "height": height} if width > 0 and height > 0 else {}


def label_studio_tasks(images: ImageSet) -> list[dict[str, Any]]:
    rows = _rows(images)
    meta = {"dataset": images.dataset.name, **images.origin}
    tasks = []
    for name in images.filenames:
        data: dict[str, Any] = {"image": image_reference(images.dataset, name), "filename": name}
        row = rows.get(name)
        if row is not None:
            score = None if row["score"] == RunSample.NO_SCORE else row["score"]  # the run's primary score
            data.update(selected=row["selected"], rank=row["rank"], score=score, scores=row["scores"])
        tasks.append({"data": data, "meta": meta})
    return tasks


def coco_images(images: ImageSet) -> dict[str, Any]:
    rows = _rows(images)
    what = ", ".join(f"{k} {v}" for k, v in images.origin.items())
    return {
        "info": {"description": f"Winnow export of {what} of dataset {images.dataset.name}",
                 "date_created": timezone.now().isoformat(timespec="seconds")},
        "images": [
            {"id": i, "file_name": name, **_size(rows[name]["metadata"] if name in rows else {})}
            for i, name in enumerate(images.filenames, start=1)
        ],
        "annotations": [],
        "categories": [{"id": i, "name": name} for i, name in enumerate(images.categories, start=1)],
    }


def render(images: ImageSet, fmt: str) -> str:
    """The text of every format but ``zip``."""
    names = images.filenames
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["filenames"])
        writer.writerows([n] for n in names)
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps({**images.origin, "dataset": images.dataset.name, "size": len(names), "filenames": names}, indent=2)
    if fmt == "txt":
        return "".join(f"{n}\n" for n in names)
    if fmt == "labelstudio":
        return json.dumps(label_studio_tasks(images), indent=1)
    if fmt == "coco":
        return json.dumps(coco_images(images), indent=1)
    raise ValueError(f"unknown export format {fmt!r}; use one of {format_choices()}")


class _Sink:
    """A write-only, unseekable file: ZipFile writes into it, the stream takes what it holds."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def zip_stream(source: Source, filenames: list[str]) -> Iterator[bytes]:
    """A zip archive of ``filenames`` read from ``source``, piece by piece (about CHUNK bytes of
    memory whatever the total). Entries are stored, not compressed: images are compressed
    already. Unreadable files are listed in :data:`MISSING_LIST`."""
    sink = _Sink()
    missing: list[str] = []
    stamp = time.localtime()[:6]

    def why(name: str, exc: Exception, prefix: str = "") -> str:
        message = str(exc)  # the engine's messages usually start with the file's name already
        return f"{prefix}{message}" if message.startswith(name) else f"{name}: {prefix}{message}"

    with zipfile.ZipFile(cast(IO[bytes], sink), "w", compression=zipfile.ZIP_STORED) as archive:
        for name in filenames:
            try:
                handle = source.open(name)
            except (WinnowError, OSError) as exc:
                missing.append(why(name, exc))
                continue
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16  # -rw-r--r-- once unpacked
            try:
                with handle, archive.open(info, "w") as entry:
                    while chunk := handle.read(CHUNK):
                        entry.write(chunk)
                        if data := sink.take():
                            yield data
            except (WinnowError, OSError) as exc:  # e.g. the connection to the bucket dropped
                missing.append(why(name, exc, "incomplete in this archive: "))
        if missing:
            archive.writestr(zipfile.ZipInfo(MISSING_LIST, date_time=stamp), "".join(f"{m}\n" for m in missing))
    yield sink.take()


def export_response(images: ImageSet, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The export as a download named after the set (``cats.labelstudio.json``): what the pages
    and the API send. ``fmt`` must be one of :data:`FORMATS` (the callers say so in their own
    way). A zip needs the datasource: WinnowError when it cannot be opened."""
    spec = FORMATS[fmt]
    filename = f"{images.name}{spec.suffix}"
    if fmt != "zip":
        return attachment(render(images, fmt), filename, spec.content_type)
    source = engine_source(images.dataset)
    response = StreamingHttpResponse(zip_stream(source, images.filenames), content_type=spec.content_type)
    response["Content-Disposition"] = content_disposition(filename)
    return response
