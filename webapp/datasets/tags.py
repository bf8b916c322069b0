"""Tags: named sets of a dataset's images, made from a run's selection or a filtered gallery view,
and exported as CSV, JSON or a plain list of filenames."""

from __future__ import annotations

import csv
import io
import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse

from ..downloads import attachment
from ..validation import clean_name
from .models import Dataset, Tag, TagItem

EXPORT_FORMATS = {"csv": "text/csv", "json": "application/json", "txt": "text/plain"}


def create_tag(dataset: Dataset, name: str, filenames: list[str], run=None, query: dict | None = None) -> Tag:
    """A new tag; a ValidationError when the name is not a valid name or taken on this dataset."""
    name = clean_name(Tag, name)
    if Tag.objects.filter(dataset=dataset, name=name).exists():
        raise ValidationError({"name": f"The dataset already has a tag named {name}."})
    unique = sorted(set(filenames))
    with transaction.atomic():
        tag = Tag.objects.create(dataset=dataset, name=name, run=run, query=query or {}, size=len(unique))
        TagItem.objects.bulk_create([TagItem(tag=tag, filename=f) for f in unique], batch_size=5000)
    return tag


def export(tag: Tag, fmt: str) -> str:
    """The tag's filenames as ``csv`` (one column, with header), ``json`` or ``txt`` (one per line)."""
    names = list(tag.items.order_by("filename").values_list("filename", flat=True))
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["filenames"])
        writer.writerows([n] for n in names)
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps({"tag": tag.name, "dataset": tag.dataset.name, "size": len(names), "filenames": names}, indent=2)
    if fmt == "txt":
        return "".join(f"{n}\n" for n in names)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")


def export_response(tag: Tag, fmt: str) -> HttpResponse:
    """The tag's export as a download named after the tag (``cats.csv``): what the dataset page
    and the API both send. ``fmt`` must be one of :data:`EXPORT_FORMATS` (the callers say so
    in their own way)."""
    return attachment(export(tag, fmt), f"{tag.name}.{fmt}", f"{EXPORT_FORMATS[fmt]}; charset=utf-8")
