"""Reading a run's samples for the gallery: tabs, filters, sorting and keyset pagination.

Pages are found by keyset ("after this sort value and id"), never by OFFSET, so page 1,000 of a
100,000-sample run costs what page 1 costs: one indexed range scan of PAGE_SIZE + 1 rows. The
cursor is the last row's (sort value, id), base64-encoded in the URL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from django.db.models import F, FloatField, Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from selection_engine.config.tasks import task_of_column
from selection_engine.errors import InputError
from selection_engine.formats.jsondoc import parse_json

from ..datasets.models import Tag
from ..runs.models import Run, RunSample
from ..validation import (
    MAX_ID,
    QueryError,
    check_text,
    id_param,
    number_param,
    text_param,
)

PAGE_SIZE = 60
TABS = ("selected", "all", "removed")
#: A cursor holds one sort value: a file name (at most 1,000 characters) or a metadata text.
MAX_CURSOR_LENGTH = 8192


@dataclass(frozen=True)
class GalleryQuery:
    tab: str = "selected"
    #: "score", "rank", "filename" or "meta:<key>"
    sort: str = ""
    order: str = ""  # "asc" | "desc"; empty: the sort's natural order
    score_min: float | None = None
    score_max: float | None = None
    cls: str = ""
    meta_key: str = ""
    meta_value: str = ""
    tag: int | None = None
    after: str = ""
    before: str = ""

    @classmethod
    def from_params(cls, params, run: Run) -> GalleryQuery:
        """The query of ``params`` (a QueryDict or a dict of strings); QueryError naming the first
        bad parameter. Cursors are checked here too, so a bad one never reaches the database."""
        tab = text_param(params, "tab") or "selected"
        if tab not in TABS:
            raise QueryError(f"tab: must be one of {', '.join(TABS)}")
        sort = text_param(params, "sort") or default_sort(run, tab)
        if sort not in ("score", "rank", "filename") and not sort.startswith("meta:"):
            raise QueryError(f"sort: unknown sort {sort!r}")
        if sort == "rank" and tab != "selected":
            sort = default_sort(run, tab)
        order = text_param(params, "order")
        if order not in ("", "asc", "desc"):
            raise QueryError("order: must be asc or desc")
        if sort.startswith("meta:") and not order and sort[5:] not in numeric_metadata(run):
            order = "asc"  # text: A to Z
        query = cls(
            tab=tab, sort=sort, order=order, score_min=number_param(params, "score_min"),
            score_max=number_param(params, "score_max"), cls=text_param(params, "class"),
            meta_key=text_param(params, "meta_key"), meta_value=text_param(params, "meta_value"),
            tag=id_param(params, "tag", "a tag id"),
            after=str(params.get("after") or ""), before=str(params.get("before") or ""),
        )
        for name in ("after", "before"):
            if getattr(query, name):
                decode_cursor(query, run, name)
        return query

    @property
    def descending(self) -> bool:
        if self.order:
            return self.order == "desc"
        return self.sort == "score" or self.sort.startswith("meta:")

    def params(self, **changes) -> str:
        """The query string of this view with ``changes`` (a new page unless a cursor is given)."""
        values = asdict(replace(self, **{"after": "", "before": "", **changes}))
        values["class"] = values.pop("cls")
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    @property
    def filters(self) -> dict:
        """The filters only (what a tag made from this view records)."""
        keys = ("tab", "score_min", "score_max", "cls", "meta_key", "meta_value", "tag")
        return {k: v for k, v in asdict(self).items() if k in keys and v not in ("", None)}


def default_sort(run: Run, tab: str) -> str:
    if run.primary_score:
        return "score"
    return "rank" if tab == "selected" else "filename"


def filtered(run: Run, query: GalleryQuery) -> QuerySet[RunSample]:
    samples = RunSample.objects.filter(run=run)
    if query.tab == "selected":
        samples = samples.filter(selected=True)
    elif query.tab == "removed":
        samples = samples.filter(selected=False)
    if query.score_min is not None:
        samples = samples.filter(score__gte=query.score_min)
    if query.score_max is not None:
        samples = samples.filter(score__lte=query.score_max, score__gt=RunSample.NO_SCORE)
    if query.cls:
        samples = samples.filter(classes__contains=f"|{query.cls}|")
    if query.meta_key:
        # As text, so "rain", 32 and true all compare with what the user typed.
        samples = samples.annotate(meta_text=Cast(KT(f"metadata__{query.meta_key}"), TextField()))
        samples = samples.filter(meta_text=query.meta_value) if query.meta_value else samples.filter(meta_text__isnull=False)
    if query.tag is not None:
        tag = Tag.objects.filter(pk=query.tag, dataset_id=run.dataset_id).first()
        if tag is None:
            raise QueryError("tag: no such tag on this dataset")
        samples = samples.filter(filename__in=tag.items.values("filename"))
    return samples


def _sort_expression(query: GalleryQuery, run: Run):
    """Numbers sort as numbers, text metadata as text."""
    if query.sort.startswith("meta:"):
        key = query.sort[5:]
        return Cast(KT(f"metadata__{key}"), FloatField() if key in numeric_metadata(run) else TextField())
    return F(query.sort)


def _encode(value, pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, pk]).encode()).decode().rstrip("=")


def _is_number(value) -> bool:
    # JSON parsing already refused NaN and infinities; an integer must also fit a 64-bit column.
    return isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID)


def decode_cursor(query: GalleryQuery, run: Run, name: str) -> tuple[str | int | float, int]:
    """(sort value, id) of the query's cursor ``name`` ("after" or "before"), made by ``_encode``
    for this query's sort, or QueryError.

    A cursor arrives in the URL, so it may be anything: not base64, not JSON, or JSON of another
    shape. Only ``[value, id]`` passes, with an id in range and a value of the sort's type (a
    number for score, rank and numeric metadata, text otherwise), so the database never sees a
    value it cannot compare.
    """
    cursor = getattr(query, name)
    wrong = QueryError(f"cursor: {name} is not a cursor of this gallery view; start again from the first page")
    try:
        check_text(cursor, name, MAX_CURSOR_LENGTH)
        decoded = parse_json(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), name, max_depth=1)
    except (ValueError, InputError):  # QueryError and binascii.Error are ValueErrors
        raise wrong from None
    if not (isinstance(decoded, list) and len(decoded) == 2):
        raise wrong
    value, pk = decoded
    if not (isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk <= MAX_ID):
        raise wrong
    sort = query.sort or default_sort(run, query.tab)
    if sort == "rank":
        typed = isinstance(value, int) and _is_number(value)
    elif sort == "score" or (sort.startswith("meta:") and sort[5:] in numeric_metadata(run)):
        typed = _is_number(value)
    else:  # filename, text metadata
        typed = isinstance(value, str) and "\x00" not in value
    if not typed:
        raise wrong
    return value, pk


@dataclass
class Page:
    samples: Sequence[RunSample]
    count: int
    next_cursor: str = ""
    prev_cursor: str = ""


def page(run: Run, query: GalleryQuery, size: int = PAGE_SIZE) -> Page:
    """One page of the view and the total number of matches (two queries)."""
    if not query.sort:
        query = replace(query, sort=default_sort(run, query.tab))
    samples = filtered(run, query).annotate(sort_value=_sort_expression(query, run))
    if query.sort.startswith("meta:") or query.sort == "rank":
        samples = samples.filter(sort_value__isnull=False)  # a metadata sort shows who has the key
    count = samples.count()
    backwards = bool(query.before)
    descending = query.descending != backwards  # walking backwards flips the order
    cursor = query.before or query.after
    if cursor:
        value, pk = decode_cursor(query, run, "before" if backwards else "after")
        # The redundant bound (<= / >=) gives the database an index range to start from.
        if descending:
            samples = samples.filter(Q(sort_value__lte=value), Q(sort_value__lt=value) | Q(pk__lt=pk))
        else:
            samples = samples.filter(Q(sort_value__gte=value), Q(sort_value__gt=value) | Q(pk__gt=pk))
    ordering = ("-sort_value", "-pk") if descending else ("sort_value", "pk")
    rows = list(samples.order_by(*ordering)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    result = Page(samples=rows, count=count)
    if rows:
        first, last = rows[0], rows[-1]
        if more or backwards:
            result.next_cursor = _encode(last.sort_value, last.pk)
        if (more and backwards) or (not backwards and cursor):
            result.prev_cursor = _encode(first.sort_value, first.pk)
    return result


def classes_of(run: Run) -> list[str]:
    """The classes of the run's primary task, from the dataset's task list."""
    task = task_of_column(run.primary_score)
    found = run.dataset.tasks.filter(name=task).first() if task else None
    return list(found.categories) if found else []


def metadata_keys(run: Run) -> list[str]:
    return list(run.facts.get("metadata_keys", []))


def numeric_metadata(run: Run) -> set[str]:
    return set(run.facts.get("numeric_metadata", []))


def around(run: Run, query: GalleryQuery, sample: RunSample) -> tuple[RunSample | None, RunSample | None]:
    """The samples just before and just after ``sample`` in the view ``query`` (the sample page's
    previous/next): two one-row keyset pages from a cursor at the sample, so as cheap as a page.
    (None, None) when the view's sort has no value for the sample (e.g. a metadata key it lacks)."""
    if not query.sort:
        query = replace(query, sort=default_sort(run, query.tab))
    value = (RunSample.objects.filter(pk=sample.pk).annotate(sort_value=_sort_expression(query, run))
             .values_list("sort_value", flat=True).first())
    if value is None:
        return None, None
    cursor = _encode(value, sample.pk)
    before = page(run, replace(query, after="", before=cursor), size=1).samples
    after = page(run, replace(query, before="", after=cursor), size=1).samples
    return (before[0] if before else None), (after[0] if after else None)
