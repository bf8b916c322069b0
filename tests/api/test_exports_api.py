"""Exports for labeling tools through the API: a tag's and a run's selection's Label Studio tasks,
COCO images list and zip of the images; bad formats, other users' objects, unfinished runs."""

from __future__ import annotations

import io
import json
import zipfile

from tests.webapp.test_exports_for_labeling import body, check_label_studio
from webapp.datasets.models import Tag
from webapp.runs.models import Run


def tag_url(tag: Tag) -> str:
    return f"/api/v1/datasets/{tag.dataset_id}/tags/{tag.pk}/export/"


def selection_url(run: Run) -> str:
    return f"/api/v1/runs/{run.pk}/selection/export/"


def test_a_tag_exports_as_label_studio_tasks_coco_and_a_zip(alice_api, completed_run, images):
    folder, _ = images
    tag = Tag.objects.get(dataset=completed_run.dataset)
    names = sorted(tag.items.values_list("filename", flat=True))

    response = alice_api.get(tag_url(tag), {"file_format": "labelstudio"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    tasks = json.loads(response.content)
    check_label_studio(tasks, names)
    assert all(t["data"]["image"] == f"/data/local-files/?d={t['data']['filename']}" for t in tasks)

    coco = json.loads(alice_api.get(tag_url(tag), {"file_format": "coco"}).content)
    assert [i["file_name"] for i in coco["images"]] == names

    response = alice_api.get(tag_url(tag), {"file_format": "zip"})
    assert response.status_code == 200 and response.streaming and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(body(response))) as archive:
        assert sorted(archive.namelist()) == names
        assert all(archive.read(n) == (folder / n).read_bytes() for n in names)


def test_a_runs_selection_exports_by_rank(alice_api, completed_run):
    by_rank = list(completed_run.samples.filter(selected=True).order_by("rank").values_list("filename", flat=True))
    tasks = json.loads(alice_api.get(selection_url(completed_run), {"file_format": "labelstudio"}).content)
    check_label_studio(tasks, by_rank)
    assert all(0 <= t["data"]["scores"]["animals/uncertainty_margin"] <= 1 for t in tasks)
    assert json.loads(alice_api.get(selection_url(completed_run)).content)["filenames"] == by_rank  # default json
    with zipfile.ZipFile(io.BytesIO(body(alice_api.get(selection_url(completed_run), {"file_format": "zip"})))) as archive:
        assert archive.namelist() == by_rank


def test_a_bad_format_is_a_400_naming_file_format(alice_api, completed_run):
    tag = Tag.objects.get(dataset=completed_run.dataset)
    for url in (tag_url(tag), selection_url(completed_run)):
        for bad in ("xml", "ZIP", "x" * 2000, "zip\x00"):
            response = alice_api.get(url, {"file_format": bad})
            assert response.status_code == 400, (url, bad)
            assert "file_format" in response.json()["errors"], response.json()


def test_other_users_tags_and_runs_are_404(bob_api, completed_run):
    tag = Tag.objects.get(dataset=completed_run.dataset)
    for fmt in ("labelstudio", "coco", "zip"):
        assert bob_api.get(tag_url(tag), {"file_format": fmt}).status_code == 404
        assert bob_api.get(selection_url(completed_run), {"file_format": fmt}).status_code == 404


def test_an_unfinished_run_has_no_selection_to_export(alice_api, completed_run):
    Run.objects.filter(pk=completed_run.pk).update(state=Run.QUEUED)
    response = alice_api.get(selection_url(completed_run), {"file_format": "labelstudio"})
    assert response.status_code == 409 and "only a completed run" in response.json()["detail"]


def test_a_zip_of_a_datasource_that_cannot_be_read_is_a_409_not_a_broken_download(alice_api, completed_run, settings):
    settings.DATASOURCE_ROOTS = []  # the folder is no longer under an allowed root
    response = alice_api.get(selection_url(completed_run), {"file_format": "zip"})
    assert response.status_code == 409 and "Cannot read the images of Animals" in response.json()["detail"]


def test_the_schema_documents_the_exports(alice_api):
    schema = alice_api.get("/api/schema/", {"format": "json"}).json()
    selection = schema["paths"]["/api/v1/runs/{id}/selection/export/"]["get"]
    tag = schema["paths"]["/api/v1/datasets/{id}/tags/{tag_id}/export/"]["get"]
    for operation in (selection, tag):
        [param] = [p for p in operation["parameters"] if p["name"] == "file_format"]
        assert sorted(param["schema"]["enum"]) == ["coco", "csv", "json", "labelstudio", "txt", "zip"]
        assert "/data/local-files/?d=" in param["description"]
