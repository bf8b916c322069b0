"""Tags: named sets of a dataset's images, made from a run's selection or a filtered gallery view
(exported by :mod:`.exports`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ..validation import clean_name
from .models import Dataset, Tag, TagItem


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
