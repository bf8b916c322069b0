"""Uploading predictions and metadata as a zip: unpack safely, validate with the engine, swap in.

An upload is all or nothing. The zip is unpacked into a staging copy of the dataset's upload
folder; the engine validates the merged result against the datasource's images; only when every
file is valid does the staging folder replace the old one (two renames under a lock). A rejected
upload leaves what was stored before untouched and records a per-file report.

Accepted layouts inside the zip (any enclosing folder is fine):
  .lightly/predictions/tasks.json, .lightly/predictions/<task>/..., .lightly/metadata/...
  predictions/..., metadata/...                     (the inside of a .lightly folder)
  <task>/schema.json, <task>/<image>.json, ...      (single task folders; tasks.json is updated)
"""

from __future__ import annotations

import fcntl
import io
import json
import lzma
import shutil
import stat
import uuid
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from selection_engine.errors import InputError, WinnowError
from selection_engine.formats.jsondoc import parse_json, too_large
from selection_engine.formats.metadata import read_metadata
from selection_engine.formats.predictions import (
    LoadedPredictions,
    load_predictions,
    read_task_names,
)
from selection_engine.progress import Reporter
from selection_engine.sources import OverlaySource, safe_relpath

from .. import datadir
from . import services
from .models import Dataset, Upload

PREDICTIONS = ".lightly/predictions"
TASKS_JSON = f"{PREDICTIONS}/tasks.json"
#: An archive may unpack to at most this multiple of the upload limit (zip bombs).
MAX_EXPANSION = 20
MAX_ENTRIES = 1_000_000
_IGNORED = ("__MACOSX/", ".DS_Store", "Thumbs.db")
#: The compression methods zipfile can inflate (others raise NotImplementedError mid-unpack).
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
#: What zipfile and its decompressors raise for a damaged archive: bad CRC or header (BadZipFile),
#: a broken deflate/bzip2/lzma stream (zlib.error, OSError, LZMAError), data that ends early
#: (EOFError), a header zipfile cannot follow (ValueError, NotImplementedError, RuntimeError).
_DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


class UploadRejected(Exception):
    """The archive itself is unusable (not a zip, too large, unsafe entries)."""


def receive_upload(dataset: Dataset, user, uploaded: UploadedFile) -> Upload:
    """Validate ``uploaded`` (a zip) and, if every file is valid, make it the dataset's."""
    filename = Path(uploaded.name or "upload.zip").name[:255]
    record = Upload(dataset=dataset, uploaded_by=user, filename=filename, size=uploaded.size or 0)
    try:
        if record.size > settings.MAX_UPLOAD_BYTES:
            raise UploadRejected(
                f"The file is {record.size / 2**20:.1f} MB; uploads are limited to {settings.MAX_UPLOAD_BYTES / 2**20:.0f} MB "
                "(WINNOW_MAX_UPLOAD_MB)."
            )
        with _dataset_lock(dataset):
            record.report, record.accepted = _stage_validate_swap(dataset, uploaded)
    except UploadRejected as exc:
        record.accepted, record.report = False, [{"file": record.filename, "status": "error", "message": str(exc)}]
    errors = [row for row in record.report if row["status"] == "error"]
    n_ok = sum(row["status"] == "ok" for row in record.report)
    if record.accepted:
        record.summary = f"Accepted {n_ok} files."
    else:
        record.summary = f"Rejected: {len(errors)} problem{'s' if len(errors) != 1 else ''}; nothing was changed."
    record.save()
    return record


@contextmanager
def _dataset_lock(dataset: Dataset):
    """One upload per dataset at a time, across processes."""
    lock_path = datadir.upload_lock(dataset.pk)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _open_zip(uploaded: UploadedFile) -> zipfile.ZipFile:
    try:
        uploaded.seek(0)
        return zipfile.ZipFile(uploaded)
    except _DAMAGED as exc:
        damage = "" if isinstance(exc, zipfile.BadZipFile) else f" ({exc})"
        raise UploadRejected(
            f"This is not a zip file, or a damaged one{damage}. Zip a .lightly folder (or task folders) and upload the .zip."
        ) from None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _safe_name(entry: str) -> str:
    try:
        return safe_relpath(entry.replace("\\", "/"), "zip entry")
    except InputError:
        raise UploadRejected(f"{entry}: unsafe path (absolute or with '..'); the archive was not unpacked.") from None


def _lightly_path(parts: tuple[str, ...]) -> str | None:
    """``.lightly/...`` for entries of a .lightly folder or of its inside (predictions/, metadata/)."""
    if ".lightly" in parts:
        return "/".join(parts[parts.index(".lightly"):])
    for i, part in enumerate(parts[:-1]):
        if part in ("predictions", "metadata"):
            return "/".join((".lightly", *parts[i:]))
    return None


def target_paths(entries: list[str]) -> dict[str, str]:
    """Entry name → where it goes inside the upload folder (``.lightly/...``); ignored entries left out.

    A folder holding a ``schema.json`` outside any ``.lightly``/``predictions`` folder is a single
    task folder, named after itself. Raises UploadRejected for an entry that would leave its
    folder or that has no place.
    """
    names = {entry: PurePosixPath(_safe_name(entry)).parts for entry in entries}
    task_roots = {
        parts[:-1] for parts in names.values()
        if parts[-1] == "schema.json" and len(parts) >= 2 and _lightly_path(parts) is None
    }
    targets = {}
    for entry, parts in names.items():
        if any(part in _IGNORED or part + "/" in _IGNORED for part in parts):
            continue
        target = _lightly_path(parts)
        if target is None:
            root = next((r for r in task_roots if parts[: len(r)] == r), None)
            if root is not None:
                target = "/".join((PREDICTIONS, root[-1], *parts[len(root):]))
            elif parts[-1] == "tasks.json":
                target = TASKS_JSON
            else:
                raise UploadRejected(
                    f"{entry}: not inside a .lightly folder or a task folder (a folder with a schema.json)."
                )
        targets[entry] = target
    return targets


def _plan(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Target path → entry, after every safety and size check."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if not infos:
        raise UploadRejected("The archive is empty.")
    if len(infos) > MAX_ENTRIES:
        raise UploadRejected(f"The archive holds {len(infos)} files; at most {MAX_ENTRIES} are accepted.")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > settings.MAX_UPLOAD_BYTES * MAX_EXPANSION:
        raise UploadRejected(
            f"The archive would unpack to {unpacked / 2**20:.0f} MB, more than {MAX_EXPANSION}x the upload limit."
        )
    file_limit = settings.MAX_PREDICTION_FILE_BYTES
    for info in infos:
        if _is_symlink(info):
            raise UploadRejected(f"{info.filename}: symbolic links are not accepted in uploads.")
        if info.flag_bits & 0x1:
            raise UploadRejected(f"{info.filename}: encrypted entries are not accepted; zip the files without a password.")
        if info.compress_type not in _METHODS:
            raise UploadRejected(
                f"{info.filename}: compression method {info.compress_type} is not supported "
                f"(supported: {', '.join(_METHODS.values())}); zip the files again with the default (deflate)."
            )
        if info.file_size > file_limit:
            raise UploadRejected(f"{info.filename}: {too_large(file_limit, info.file_size)}.")
    targets = target_paths([i.filename for i in infos])
    plan: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        target = targets.get(info.filename)
        if target is None:
            continue
        if target in plan:
            raise UploadRejected(f"{info.filename}: two entries would both become {target}.")
        plan[target] = info
    if not plan:
        raise UploadRejected("The archive holds no prediction or metadata files.")
    return plan


def _stage_validate_swap(dataset: Dataset, uploaded: UploadedFile) -> tuple[list[dict], bool]:
    with _open_zip(uploaded) as archive:
        plan = _plan(archive)
        live = dataset.uploads_dir
        staging = live.with_name(f"{live.name}.staging-{uuid.uuid4().hex[:8]}")
        try:
            if live.is_dir():
                shutil.copytree(live, staging, symlinks=False)
            else:
                staging.mkdir(parents=True)
            _unpack(archive, plan, staging)
            report, images, loaded = _validate(dataset, staging, sorted(plan))
            accepted = all(row["status"] == "ok" for row in report)
            if accepted:
                _swap(staging, live)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if accepted:  # the validation read exactly what is stored now: keep its task list and count
        assert loaded is not None  # unread predictions are a problem row, so never accepted
        dataset.image_count = len(images)
        dataset.save(update_fields=["image_count", "updated_at"])
        services.store_tasks(dataset, loaded, n_images=len(images))
    return report, accepted


def _unpack(archive: zipfile.ZipFile, plan: dict[str, zipfile.ZipInfo], staging: Path) -> None:
    uploaded_tasks = {t.split("/")[2] for t in plan if t.startswith(PREDICTIONS + "/") and t.count("/") >= 3}
    for task in uploaded_tasks:  # an uploaded task folder replaces the stored one as a whole
        shutil.rmtree(staging / PREDICTIONS / task, ignore_errors=True)
    budget = settings.MAX_UPLOAD_BYTES * MAX_EXPANSION
    file_limit = settings.MAX_PREDICTION_FILE_BYTES
    for target, info in plan.items():
        path = staging / target
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with open(path, "wb") as dst:
            # file_size in the header can lie: count what is really inflated, stop at the limits.
            for chunk in _inflate(archive, info):
                written += len(chunk)
                budget -= len(chunk)
                if written > file_limit:
                    raise UploadRejected(f"{info.filename}: {too_large(file_limit)}.")
                if budget < 0:
                    raise UploadRejected("The archive unpacks to more than its headers say; it was not accepted.")
                dst.write(chunk)
        if written != info.file_size:
            raise _damaged(info, f"its header says {info.file_size:,} bytes, its data holds {written:,}")
    if uploaded_tasks and TASKS_JSON not in plan:
        _add_to_tasks_json(staging, sorted(uploaded_tasks))


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo):
    """The entry's bytes in chunks of at most 1 MB; a damaged entry is an UploadRejected naming it."""
    try:
        with archive.open(info) as src:
            while chunk := src.read(1 << 20):
                yield chunk
    except _DAMAGED as exc:
        raise _damaged(info, str(exc) or type(exc).__name__) from None


def _damaged(info: zipfile.ZipInfo, detail: str) -> UploadRejected:
    return UploadRejected(
        f"{info.filename}: cannot be unpacked, the archive is damaged ({detail}); zip the files again and upload the new zip."
    )


def _add_to_tasks_json(staging: Path, tasks: list[str]) -> None:
    path = staging / TASKS_JSON
    names: list = []
    if path.exists():
        try:
            names = parse_json(path.read_bytes(), TASKS_JSON, max_bytes=settings.MAX_PREDICTION_FILE_BYTES)
        except InputError:
            names = []
    names = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(names + [t for t in tasks if t not in names], indent=2))


def _validate(dataset: Dataset, staging: Path, uploaded: list[str]) -> tuple[list[dict], list[str], LoadedPredictions | None]:
    """(one row per uploaded file, ok or its problem, plus problems of files it relies on;
    the datasource's images; the predictions as read)."""
    base = services.engine_source(dataset).base
    try:
        images = base.list_images()
    except Exception as exc:
        return [{"file": "(datasource)", "status": "error", "message": f"the datasource cannot be listed: {exc}"}], [], None
    source = OverlaySource(base, staging)
    problems: dict[str, str] = {}
    loaded = None
    try:
        loaded = load_predictions(source, images, tasks=read_task_names(source), known_images=images)
        problems.update({p.file: p.message for p in loaded.problems})
    except WinnowError as exc:
        problems[getattr(exc, "location", "") or TASKS_JSON] = getattr(exc, "reason", str(exc))
    try:
        read_metadata(source, images, Reporter(show_bars=False, stream=io.StringIO()), known_images=images)
    except WinnowError as exc:
        problems[getattr(exc, "location", "") or ".lightly/metadata"] = getattr(exc, "reason", str(exc))
    rows = []
    for target in uploaded:
        message = next((m for location, m in problems.items() if _is_about(location, target)), "")
        rows.append({"file": target, "status": "error" if message else "ok", "message": message})
    reported = [row["file"] for row in rows if row["status"] == "error"]
    for location, message in problems.items():
        if not any(_is_about(location, name) for name in reported):
            rows.append({"file": location, "status": "error", "message": message})
    return sorted(rows, key=lambda row: (row["status"] != "error", row["file"])), images, loaded


def _is_about(location: str, filename: str) -> bool:
    """An engine error location names ``filename``, alone or with ", line 3" / ": ..." after it."""
    return location == filename or location.startswith((filename + ",", filename + ":"))


def _swap(staging: Path, live: Path) -> None:
    retired = live.with_name(f"{live.name}.old-{uuid.uuid4().hex[:8]}")
    if live.exists():
        live.rename(retired)
    staging.rename(live)
    shutil.rmtree(retired, ignore_errors=True)
