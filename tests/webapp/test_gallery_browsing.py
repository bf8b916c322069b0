"""The gallery of a finished run: tabs, filters, sorting, keyset paging, sample detail, plots."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from selection_engine.synthetic import write_images, write_predictions
from webapp.gallery import selectors
from webapp.runs.models import Run, RunSample
from webapp.runs.services import schedule_run
from webapp.runs.tasks import execute_run

from .conftest import SMALL_MODEL, make_dataset, upload, zip_folder


def names_on(page: str) -> list[str]:
    import re

    return re.findall(r'<figure class="sample[^"]*" data-filename="([^"]+)"', page)


def test_tabs_show_selected_all_and_removed_with_counts(alice_client, completed_run):
    url = f"/runs/{completed_run.pk}/gallery/"
    for tab, expected in (("selected", 6), ("all", 24), ("removed", 18)):
        page = alice_client.get(url, {"tab": tab}).content.decode()
        assert len(names_on(page)) == expected, tab
        assert f"<strong>{expected}</strong> matching sample" in page
    removed = alice_client.get(url, {"tab": "removed"}).content.decode()
    import re

    assert set(re.findall(r'<figure class="sample ([^"]*)"', removed)) == {"removed"}


def test_sorting_by_score_filename_and_order(alice_client, completed_run):
    url = f"/runs/{completed_run.pk}/gallery/"
    by_score = names_on(alice_client.get(url, {"tab": "all"}).content.decode())
    expected = list(completed_run.samples.order_by("-score", "-pk").values_list("filename", flat=True))
    assert by_score == expected
    ascending = names_on(alice_client.get(url, {"tab": "all", "sort": "filename", "order": "asc"}).content.decode())
    assert ascending == sorted(expected)
    by_rank = names_on(alice_client.get(url, {"sort": "rank"}).content.decode())
    assert by_rank == list(completed_run.samples.filter(selected=True).order_by("rank").values_list("filename", flat=True))


def test_filters_by_score_range_class_metadata_and_tag(alice_client, completed_run):
    url = f"/runs/{completed_run.pk}/gallery/"
    samples = completed_run.samples.all()
    middle = sorted(s.score for s in samples)[12]
    shown = names_on(alice_client.get(url, {"tab": "all", "score_min": middle}).content.decode())
    assert set(shown) == {s.filename for s in samples if s.score >= middle}
    cats = names_on(alice_client.get(url, {"tab": "all", "class": "cat"}).content.decode())
    assert cats and set(cats) == {s.filename for s in samples if "|cat|" in s.classes}
    in_cats = names_on(alice_client.get(url, {"tab": "all", "meta_key": "filenames", "meta_value": "x"}).content.decode())
    assert in_cats == []  # no such metadata key: nothing matches
    wide = names_on(alice_client.get(url, {"tab": "all", "meta_key": "lightly.width", "meta_value": "32"}).content.decode())
    assert len(wide) == 24
    tag = completed_run.tags.get()
    tagged = names_on(alice_client.get(url, {"tab": "all", "tag": tag.pk}).content.decode())
    assert set(tagged) == set(samples.filter(selected=True).values_list("filename", flat=True))


def test_bad_parameters_are_explained_not_crashing(alice_client, completed_run):
    response = alice_client.get(f"/runs/{completed_run.pk}/gallery/", {"score_min": "abc"}, follow=True)
    assert "score_min: &#x27;abc&#x27; is not a number" in response.content.decode()
    response = alice_client.get(f"/runs/{completed_run.pk}/gallery/", {"after": "garbage!"}, follow=True)
    assert "start again from the first page" in response.content.decode()


@pytest.mark.parametrize("sort,order", [("score", ""), ("score", "asc"), ("filename", ""), ("meta:lightly.sharpness", "")])
def test_keyset_pages_walk_every_sample_once_forward_and_back(completed_run, sort, order):
    run = completed_run
    query = selectors.GalleryQuery(tab="all", sort=sort, order=order)
    seen, pages = [], []
    page = selectors.page(run, query, size=5)
    assert page.count == 24 and not page.prev_cursor
    while True:
        pages.append([s.pk for s in page.samples])
        seen += pages[-1]
        if not page.next_cursor:
            break
        page = selectors.page(run, selectors.GalleryQuery(tab="all", sort=sort, order=order, after=page.next_cursor), size=5)
    assert len(seen) == len(set(seen)) == 24
    values = [RunSample.objects.annotate(v=selectors._sort_expression(query, run)).get(pk=pk).v for pk in seen]
    assert values == sorted(values, reverse=query.descending)
    back = selectors.page(run, selectors.GalleryQuery(tab="all", sort=sort, order=order, before=page.prev_cursor), size=5)
    assert [s.pk for s in back.samples] == pages[-2]


def test_a_deep_page_costs_the_same_queries_as_the_first(alice_client, completed_run):
    url = f"/runs/{completed_run.pk}/gallery/"
    alice_client.get(url, {"tab": "all"})  # warm the session
    with CaptureQueriesContext(connection) as first:
        alice_client.get(url, {"tab": "all"})
    last = selectors.page(completed_run, selectors.GalleryQuery(tab="all"), size=20)
    with CaptureQueriesContext(connection) as deep:
        response = alice_client.get(url, {"tab": "all", "after": last.next_cursor})
    assert len(names_on(response.content.decode())) == 4
    assert len(deep) == len(first)
    assert not any("OFFSET" in q["sql"].upper() for q in deep.captured_queries)


def test_the_sample_page_shows_scores_contributions_metadata_and_neighbours(alice_client, completed_run):
    sample = completed_run.samples.get(rank=1)
    page = alice_client.get(f"/runs/{completed_run.pk}/samples/{sample.pk}/").content.decode()
    assert sample.filename in page and "selected, rank 1" in page
    assert "animals/uncertainty_margin" in page and "At selection time" in page and "DIVERSITY" in page
    assert "lightly.sharpness" in page
    assert page.count('<figure><a href="/runs/') == 8  # eight nearest neighbours
    # A sample of another run is not found under this run's address.
    other_run = Run.objects.create(owner=completed_run.owner, dataset=completed_run.dataset, state=Run.COMPLETED)
    other = RunSample.objects.create(run=other_run, filename=sample.filename)
    assert alice_client.get(f"/runs/{completed_run.pk}/samples/{other.pk}/").status_code == 404
    assert alice_client.get(f"/runs/{other_run.pk}/samples/{other.pk}/").status_code == 200


def test_detection_boxes_are_drawn_on_the_sample(alice_client, alice, root, tmp_path):
    folder = root / "street"
    names = write_images(folder, 12, size=(40, 60), folders=("a",))
    write_predictions(tmp_path / "p", names, {"det": "object-detection"}, categories=("car", "person"), image_size=(40, 60))
    dataset = make_dataset(alice, folder, name="Street")
    assert upload(dataset, alice, zip_folder(tmp_path / "p")).accepted
    run = schedule_run(alice, dataset, worker_config={"method": "coral", "stopping_condition": {"n_samples": 3},
                                                      "active_learning": {"task_name": "det", "score_name": "objectness_least_confidence"}},
                       lightly_config=SMALL_MODEL)
    assert execute_run(run.pk) == "completed"
    sample = run.samples.get(rank=1)
    stored = json.loads((tmp_path / "p/.lightly/predictions/det" / (sample.filename.rsplit(".", 1)[0] + ".json")).read_text())
    page = alice_client.get(f"/runs/{run.pk}/samples/{sample.pk}/").content.decode()
    assert 'viewBox="0 0 60 40"' in page
    assert page.count('<g class="box"') == len(stored["predictions"])
    first = stored["predictions"][0]
    assert f'<rect x="{first["bbox"][0]}" y="{first["bbox"][1]}"' in page


def plotted(values):
    """Plotly sends numeric arrays as base64 typed arrays ({"dtype", "bdata"})."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return values


def test_plots_are_built_once_and_down_sampled(alice_client, completed_run, monkeypatch):
    from webapp.gallery import plots

    monkeypatch.setattr(plots, "MAX_POINTS", 10)
    page = alice_client.get(f"/runs/{completed_run.pk}/plots/").content.decode()
    assert '<script src="/vendor/plotly.min.js">' in page
    data = plots.run_plots(completed_run)
    traces = {t["name"]: t for t in data["map"]["data"]}
    assert len(plotted(traces["selected"]["x"])) == 6
    assert len(plotted(traces["not selected (showing 10 of 18)"]["x"])) == 10
    assert [f["layout"]["title"]["text"] for f in data["scores"]] == [
        "animals/uncertainty_least_confidence", "animals/uncertainty_margin", "animals/uncertainty_entropy"]
    assert data["distances"] and data["classes"] and data["loss"] is None
    assert (completed_run.directory / plots.PLOTS_JSON).exists()


def test_pages_of_an_unfinished_run_are_not_found(alice_client, dataset, alice):
    run = schedule_run(alice, dataset, worker_config={"method": "random", "stopping_condition": {"n_samples": 2}}, lightly_config=SMALL_MODEL)
    assert Run.objects.get(pk=run.pk).state == Run.QUEUED
    for url in (f"/runs/{run.pk}/gallery/", f"/runs/{run.pk}/plots/"):
        assert alice_client.get(url).status_code == 404
