"""Writes from browsing a run: tagging every sample of a gallery view."""

from __future__ import annotations

from ..datasets import tags
from ..datasets.models import Tag
from ..runs.models import Run
from . import selectors


def tag_view(run: Run, query: selectors.GalleryQuery, *, name: str) -> Tag:
    """A tag of every sample matching ``query`` (not only one page), remembering the filters."""
    names = list(selectors.filtered(run, query).values_list("filename", flat=True))
    return tags.create_tag(run.dataset, name, names, run=run, query=query.filters)
