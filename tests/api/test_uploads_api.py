"""Predictions and metadata through the API: a zip, or files as JSON, through the same
validation as the page; all or nothing; 400 with the per-file report when rejected."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from webapp.datasets.models import Upload

from .conftest import TASK, zip_bytes


def test_upload_a_zip(alice_api, dataset, predictions_zip):
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/",
                              {"file": SimpleUploadedFile("p.zip", predictions_zip)}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["accepted"] is True and body["filename"] == "p.zip"
    assert all(row["status"] == "ok" for row in body["report"]) and len(body["report"]) > 24
    listed = alice_api.get(f"/api/v1/datasets/{dataset.pk}/uploads/").json()
    assert listed[0]["id"] == body["id"]


def test_a_bad_zip_is_400_with_the_reason(alice_api, dataset):
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/",
                              {"file": SimpleUploadedFile("p.zip", b"not a zip")}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] is False and "not a zip file" in body["errors"]["p.zip"]
    assert body["detail"].startswith("Rejected")


def test_upload_files_as_json(alice_api, dataset, images):
    _, names = images
    schema = {"task_type": "classification", "categories": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}]}
    files = {".lightly/predictions/pets/schema.json": schema}
    for name in names:
        files[f".lightly/predictions/pets/{name.rsplit('.', 1)[0]}.json"] = {
            "file_name": name, "predictions": [{"category_id": 0, "probabilities": [0.7, 0.3]}]}
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": files}, format="json")
    assert response.status_code == 201, response.json()
    tasks = {t["name"]: t for t in alice_api.get(f"/api/v1/datasets/{dataset.pk}/").json()["tasks"]}
    assert tasks["pets"]["coverage"] == 24 and TASK in tasks  # added beside the zip's task


def test_a_bad_json_file_rejects_the_whole_upload(alice_api, dataset, images):
    _, names = images
    before = sorted(p.relative_to(dataset.uploads_dir) for p in dataset.uploads_dir.rglob("*"))
    path = f".lightly/predictions/{TASK}/{names[0].rsplit('.', 1)[0]}.json"
    bad = {"file_name": names[0], "predictions": [{"category_id": 7, "probabilities": [0.5, 0.5]}]}
    schema = {"task_type": "classification", "categories": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}]}
    files = {f".lightly/predictions/{TASK}/schema.json": schema, path: bad}
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": files}, format="json")
    assert response.status_code == 400
    assert "7" in response.json()["errors"][path]
    assert sorted(p.relative_to(dataset.uploads_dir) for p in dataset.uploads_dir.rglob("*")) == before


def test_malformed_upload_requests_are_400(alice_api, dataset):
    url = f"/api/v1/datasets/{dataset.pk}/uploads/"
    assert alice_api.post(url, {}, format="json").json()["errors"] == {"files": "This field is required."}
    assert "files" in alice_api.post(url, {"files": {}}, format="json").json()["errors"]
    escaping = alice_api.post(url, {"files": {"../../etc/x.json": {}}}, format="json")
    assert escaping.status_code == 400 and "unsafe path" in json.dumps(escaping.json())
    assert Upload.objects.filter(accepted=True).count() == 1  # the fixture's


def test_zip_layouts_of_single_task_folders(alice_api, dataset, images):
    _, names = images
    schema = json.dumps({"task_type": "classification", "categories": [{"id": 0, "name": "a"}]})
    files = {"solo/schema.json": schema}
    files.update({f"solo/{n.rsplit('.', 1)[0]}.json": json.dumps({"file_name": n, "predictions": [{"category_id": 0}]}) for n in names})
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/",
                              {"file": SimpleUploadedFile("solo.zip", zip_bytes(files))}, format="multipart")
    assert response.status_code == 201, response.json()
