"""Every query parameter the pages and the API read is checked before the database sees it, the
same way on SQLite and PostgreSQL: a bad one is a 400 naming it (the API) or a message (the
pages), never a 500.

The cases: a paging cursor that is valid base64 of another structure (a 500 on both databases);
``?class=%00`` (PostgreSQL refuses NUL: a 500 there); numbers that are not (``abc``, ``nan``,
``1e999``, ``²``); ids past 64 bits; values longer than any real one. Run on PostgreSQL too by
``test_on_postgresql.py``.
"""

from __future__ import annotations

import base64
import json

import pytest

from webapp.datasets.models import Tag

NUL, NEWLINE, ESCAPE = "\x00", "a\nb", "\x1b[0m"
LONG = "x" * 1001


def cursor(value) -> str:
    """``value`` as a cursor: JSON (or raw bytes) in URL-safe base64, as the gallery writes them."""
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


#: Cursors no gallery wrote, each a 500 or a wrong page before. For the score sort (a number).
BAD_CURSORS = {
    "not base64": "!!!not a cursor!!!",
    "base64 of bytes": cursor(b"\xff\xfe\x00garbage"),
    "base64 of text": cursor(b"hello"),
    "an object": cursor({"a": 1}),
    "one item": cursor([1]),
    "three items": cursor(["x", "y", "z"]),
    "a nested list": cursor([[1], 2]),
    "a number": cursor(7),
    "null": cursor(None),
    "a string id": cursor([0.5, "1"]),
    "a boolean id": cursor([0.5, True]),
    "a null id": cursor([0.5, None]),
    "a float id": cursor([0.5, 1.5]),
    "a zero id": cursor([0.5, 0]),
    "a negative id": cursor([0.5, -1]),
    "an id past 64 bits": cursor([0.5, 2**63]),
    "a 40-digit id": cursor([0.5, 10**40]),
    "text for a number sort": cursor(["x", 1]),
    "a null value": cursor([None, 1]),
    "a boolean value": cursor([True, 1]),
    "a list value": cursor([[0.5], 1]),
    "an integer value past 64 bits": cursor([10**30, 1]),
    "NaN": cursor(b"[NaN, 1]"),
    "Infinity": cursor(b"[Infinity, 1]"),
    "-Infinity": cursor(b"[-Infinity, 1]"),
    "1e999": cursor(b"[1e999, 1]"),
    "a 5000-digit integer": cursor(b"[" + b"9" * 5000 + b", 1]"),
    "deep nesting": cursor(b"[" * 2500 + b"]" * 2500),
    "overlong": "A" * 20_000,
    "NUL": NUL,
    "a newline": NEWLINE,
}
#: Cursors of the wrong type for the other sorts: rank (an integer) and filename (text).
BAD_FOR_SORT = {
    "rank": {"a float rank": cursor([1.5, 1]), "a text rank": cursor(["1", 1])},
    "filename": {"a number for a text sort": cursor([1, 1]), "text holding NUL": cursor(["a\x00b", 1])},
}

#: Filter values refused wherever a filter is read: (parameter, value).
BAD_FILTERS = [
    ("class", NUL), ("class", "cat\x00"), ("class", NEWLINE), ("class", ESCAPE), ("class", LONG),
    ("sort", "meta:\x00"), ("sort", "meta:" + LONG), ("sort", "nonsense"), ("sort", NUL),
    ("order", NUL), ("order", "sideways"),
    ("score_min", NUL), ("score_min", "abc"), ("score_min", "nan"), ("score_min", "inf"), ("score_min", "-Infinity"),
    ("score_min", "1e999"), ("score_min", "9" * 5000), ("score_max", "²"), ("score_max", "0.\n5"),
]
#: Only the gallery page and "Tag all" (and the API's tag filters) read these.
BAD_GALLERY_FILTERS = BAD_FILTERS + [
    ("tab", NUL), ("tab", "everything"), ("meta_key", NUL), ("meta_key", LONG), ("meta_value", NUL),
    ("meta_value", NEWLINE), ("tag", NUL), ("tag", "abc"), ("tag", "-1"), ("tag", "0"), ("tag", "²"), ("tag", "1.5"),
    ("tag", "99999999999999999999"), ("tag", "9" * 5000),
]
BAD_IDS = [NUL, "abc", "-1", "0", "²", "٣", "1.5", "99999999999999999999", "9" * 5000, NEWLINE]


def gallery_refuses(client, run, params: dict, name: str) -> None:
    """The gallery page answers ``params`` by going back to its first page with a message naming ``name``."""
    response = client.get(f"/runs/{run.pk}/gallery/", params)
    assert response.status_code == 302, (params, response.status_code)
    assert response["Location"] == f"/runs/{run.pk}/gallery/", params
    page = client.get(response["Location"]).content.decode()
    assert f"{name}: " in page and "msg-error" in page, params


def api_refuses(client, url: str, params: dict, name: str) -> None:
    response = client.get(url, params)
    assert response.status_code == 400, (url, params, response.status_code)
    assert name in response.json()["errors"], (params, response.json())


def test_cursors_of_the_wrong_shape_are_refused_on_the_api_and_the_page(alice_api, alice_client, completed_run):
    samples = f"/api/v1/runs/{completed_run.pk}/samples/"
    selection = f"/api/v1/runs/{completed_run.pk}/selection/"
    for bad in BAD_CURSORS.values():
        for name in ("after", "before"):
            api_refuses(alice_api, samples, {name: bad}, "cursor")
            api_refuses(alice_api, selection, {name: bad}, "cursor")
            gallery_refuses(alice_client, completed_run, {"tab": "all", name: bad}, "cursor")
    for sort, cases in BAD_FOR_SORT.items():
        for bad in cases.values():
            api_refuses(alice_api, samples, {"selected": "true", "sort": sort, "order": "asc", "after": bad}, "cursor")
            gallery_refuses(alice_client, completed_run, {"sort": sort, "after": bad}, "cursor")
    api_refuses(alice_api, selection, {"after": cursor([0.5, 1])}, "cursor")  # the selection is by rank


def test_cursors_the_gallery_wrote_still_page_through(alice_api, completed_run):
    url = f"/api/v1/runs/{completed_run.pk}/samples/"
    for sort in ("score", "filename", "meta:lightly.width", "meta:no such key"):
        seen, page = [], alice_api.get(url, {"sort": sort, "page_size": 5}).json()
        while True:
            seen += [row["filenames"] for row in page["results"]]
            if not page["next"]:
                break
            page = alice_api.get(page["next"]).json()
        expected = 0 if sort == "meta:no such key" else completed_run.samples.count()
        assert len(seen) == len(set(seen)) == expected, sort


#: Odd but legal values: quotes, JSON-path and LIKE characters, Unicode. Answered, never a 500.
ODD_FILTERS = [
    ("class", 'c"a\'t'), ("class", "100%_"), ("class", "猫"), ("meta_key", 'a"b'), ("meta_key", "a'b"),
    ("meta_key", "a.b"), ("meta_key", "$[0]"), ("meta_key", "a\\b"), ("meta_key", "a__b"), ("meta_value", "%"),
    ("sort", 'meta:a"b'), ("sort", "meta:$"), ("sort", "meta:"), ("sort", "meta:a.b[0]"), ("score_min", " 0.5 "),
    ("score_max", "1e-300"), ("score_min", "-0"),
]


def test_odd_but_legal_filters_are_answered(alice_api, alice_client, completed_run):
    for name, value in ODD_FILTERS:
        page = alice_client.get(f"/runs/{completed_run.pk}/gallery/", {"tab": "all", name: value})
        assert page.status_code == 200, (name, value, page.status_code)
        api = alice_api.get(f"/api/v1/runs/{completed_run.pk}/samples/", {name: value})
        assert api.status_code == 200, (name, value, api.status_code)


def test_bad_filters_are_refused_by_the_samples_api(alice_api, completed_run):
    url = f"/api/v1/runs/{completed_run.pk}/samples/"
    for name, value in BAD_FILTERS + [("selected", NUL), ("selected", "maybe")]:
        api_refuses(alice_api, url, {name: value}, name)
    for value in BAD_IDS:
        api_refuses(alice_api, url, {"page_size": value}, "page_size")
        api_refuses(alice_api, f"/api/v1/runs/{completed_run.pk}/selection/", {"page_size": value}, "page_size")


def test_bad_filters_are_explained_on_the_gallery_page(alice_client, completed_run):
    for name, value in BAD_GALLERY_FILTERS:
        gallery_refuses(alice_client, completed_run, {"tab": "all", name: value}, name)


def test_tagging_a_view_with_bad_filters_is_refused_and_tags_nothing(alice_api, alice_client, completed_run):
    dataset = completed_run.dataset
    for name, value in BAD_GALLERY_FILTERS:
        body = {"name": "view", "run": completed_run.pk, "filters": {"tab": "all", name: value}}
        response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/tags/", body, format="json")
        assert response.status_code == 400, (name, value, response.status_code)
        assert all(key.startswith("filters") for key in response.json()["errors"]), (name, value, response.json())
        page = alice_client.post(f"/runs/{completed_run.pk}/tags/", {"tab": "all", name: value, "name": "view", "view": "tab=all"}, follow=True)
        assert page.status_code == 200 and f"{name}: " in page.content.decode(), (name, value)
    assert not Tag.objects.filter(name="view").exists()


def test_run_ids_on_the_compare_page_are_checked(alice_client, completed_run):
    for value in BAD_IDS:
        for name, params in (("a", {"a": value}), ("b", {"a": completed_run.pk, "b": value})):
            response = alice_client.get("/runs/compare/", params)
            assert response.status_code == 400, (params, response.status_code)
            assert f"{name}: " in response.content.decode(), params
    both = alice_client.get("/runs/compare/", {"a": completed_run.pk, "b": completed_run.pk})
    assert both.status_code == 200 and 'id="overlap"' in both.content.decode()
    assert alice_client.get("/runs/compare/", {"a": 2**62}).status_code == 404  # well-formed, just not a run of hers


def test_the_runs_api_filters_are_checked(alice_api, completed_run):
    for value in BAD_IDS:
        api_refuses(alice_api, "/api/v1/runs/", {"dataset": value}, "dataset")
    for value in (NUL, "done", LONG):
        api_refuses(alice_api, "/api/v1/runs/", {"state": value}, "state")
    listed = alice_api.get("/api/v1/runs/", {"dataset": completed_run.dataset_id, "state": "completed"})
    assert [run["id"] for run in listed.json()["results"]] == [completed_run.pk]
    assert alice_api.get("/api/v1/runs/", {"dataset": 2**62}).json()["results"] == []


def test_the_tag_export_format_and_thumbnail_size_are_checked(alice_api, alice_client, completed_run):
    dataset = completed_run.dataset
    tag = Tag.objects.get(dataset=dataset)
    for value in (NUL, "csv\x00", LONG):
        api_refuses(alice_api, f"/api/v1/datasets/{dataset.pk}/tags/{tag.pk}/export/", {"file_format": value}, "file_format")
        api_refuses(alice_api, f"/api/v1/runs/{completed_run.pk}/selection/export/", {"file_format": value}, "file_format")
    name = completed_run.samples.first().filename
    for value in BAD_IDS:
        response = alice_client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": name, "size": value})
        assert response.status_code == 400, (value, response.status_code)
    assert alice_client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": name}).status_code == 200
    assert alice_client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": name, "size": 5}).status_code == 404
    assert alice_client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": NUL}).status_code == 404


@pytest.mark.parametrize("value", BAD_IDS)
def test_the_wizard_start_explains_a_bad_dataset_id(alice_client, dataset, value):
    response = alice_client.get("/runs/new/", {"dataset": value}, follow=True)
    assert response.status_code == 200 and "dataset: " in response.content.decode(), value
