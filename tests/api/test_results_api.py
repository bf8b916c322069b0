"""A completed run's results through the API: the selection by rank with every score (cursor
pages), all samples with filters, the artifacts listed and downloaded."""

import csv
import io

from .conftest import TASK


def _all_pages(api, url, params):
    rows, page = [], api.get(url, params).json()
    while True:
        rows += page["results"]
        if not page["next"]:
            return rows, page["count"]
        page = api.get(page["next"]).json()


def test_the_selection_by_rank_with_scores_across_pages(alice_api, completed_run):
    rows, count = _all_pages(alice_api, f"/api/v1/runs/{completed_run.pk}/selection/", {"page_size": 4})
    assert count == 6 and [row["rank"] for row in rows] == [1, 2, 3, 4, 5, 6]
    path = completed_run.directory / "data/selected_samples.csv"
    with open(path) as f:
        expected = [r["filenames"] for r in csv.DictReader(f)]
    assert [row["filenames"] for row in rows] == expected
    assert all(0 <= row[f"{TASK}/uncertainty_margin"] <= 1 for row in rows)
    assert all(row["score"] == row[f"{TASK}/uncertainty_margin"] for row in rows)


def test_samples_with_filters(alice_api, completed_run):
    url = f"/api/v1/runs/{completed_run.pk}/samples/"
    everything, total = _all_pages(alice_api, url, {"page_size": 10})
    assert total == 24 and len(everything) == 24
    removed, n_removed = _all_pages(alice_api, url, {"selected": "false"})
    assert n_removed == 18 and not any(row["selected"] for row in removed) and all(row["reason"] for row in removed)
    scores = sorted(row["score"] for row in everything)
    middle = scores[12]
    high, _ = _all_pages(alice_api, url, {"score_min": middle})
    assert high and all(row["score"] >= middle for row in high)
    low, _ = _all_pages(alice_api, url, {"score_max": middle, "sort": "score", "order": "asc"})
    assert [row["score"] for row in low] == sorted(row["score"] for row in low) and all(row["score"] <= middle for row in low)
    selected = alice_api.get(url, {"selected": "true"}).json()
    assert selected["count"] == 6 and all(row["selected"] and row["rank"] for row in selected["results"])


def test_bad_sample_queries_are_400(alice_api, completed_run):
    url = f"/api/v1/runs/{completed_run.pk}/samples/"
    for params, key in [({"score_min": "high"}, "score_min"), ({"selected": "maybe"}, "selected"), ({"page_size": 0}, "page_size"),
                        ({"page_size": "x"}, "page_size"), ({"sort": "colour"}, "sort"), ({"after": "%%%"}, "cursor")]:
        response = alice_api.get(url, params)
        assert response.status_code == 400 and key in response.json()["errors"], (params, response.json())


def test_artifacts_listed_and_downloaded(alice_api, completed_run):
    listed = alice_api.get(f"/api/v1/runs/{completed_run.pk}/artifacts/").json()
    names = {a["name"]: a for a in listed}
    assert {"report.json", "report.pdf", "data/selected_samples.csv", "log.txt"} <= set(names)
    assert names["report.json"]["url"].endswith(f"/api/v1/runs/{completed_run.pk}/artifacts/report.json")
    response = alice_api.get(f"/api/v1/runs/{completed_run.pk}/artifacts/data/selected_samples.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content)
    assert len(list(csv.DictReader(io.StringIO(content.decode())))) == 6
    assert int(response["Content-Length"]) == names["data/selected_samples.csv"]["size"]


def test_artifact_names_cannot_leave_the_run_directory(alice_api, completed_run):
    for name in ("../../../../etc/passwd", "%2e%2e/secret_key", "nothing.txt", "data"):
        response = alice_api.get(f"/api/v1/runs/{completed_run.pk}/artifacts/{name}")
        assert response.status_code == 404 and response["Content-Type"] == "application/json", name
