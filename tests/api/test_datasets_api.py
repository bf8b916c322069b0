"""Datasets and datasources through the API: create, read, edit, re-point, test, delete; the
datasource is checked by the same service as the pages; other users' datasets are 404."""

from webapp.datasets.models import Dataset


def test_create_a_local_dataset_and_read_it_back(alice_api, images):
    folder, _ = images
    response = alice_api.post("/api/v1/datasets/", {"name": "Pets", "datasource": {"type": "local", "path": str(folder)}}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["datasource"] == {"type": "local", "path": str(folder.resolve())}
    assert body["image_count"] == 24 and body["tasks"] == []
    assert alice_api.get(f"/api/v1/datasets/{body['id']}/").json()["name"] == "Pets"
    listed = alice_api.get("/api/v1/datasets/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]


def test_a_dataset_lists_its_prediction_tasks(alice_api, dataset):
    tasks = alice_api.get(f"/api/v1/datasets/{dataset.pk}/").json()["tasks"]
    assert tasks[0]["name"] == "animals" and tasks[0]["coverage"] == 24
    assert "uncertainty_margin" in tasks[0]["score_names"]


def test_bad_datasources_are_400_naming_the_key(alice_api, root, images, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    cases = [
        ({"type": "local", "path": str(outside)}, "datasource.path", "not under an allowed datasource root"),
        ({"type": "local", "path": str(root / "missing")}, "datasource.path", "does not exist"),
        ({"type": "local"}, "datasource.path", "is required"),
        ({"type": "local", "path": str(images[0]), "bucket": "b"}, "datasource.bucket", "unknown key"),
        ({"type": "ftp", "path": "/x"}, "datasource.type", "not a valid choice"),
        ({"type": "s3", "prefix": "x"}, "datasource.bucket", "is required"),
    ]
    for datasource, key, message in cases:
        response = alice_api.post("/api/v1/datasets/", {"name": "X", "datasource": datasource}, format="json")
        assert response.status_code == 400, datasource
        assert message in response.json()["errors"][key], response.json()
    assert not Dataset.objects.exists()


def test_a_duplicate_name_is_400(alice_api, dataset, images):
    response = alice_api.post("/api/v1/datasets/", {"name": "Animals", "datasource": {"type": "local", "path": str(images[0])}}, format="json")
    assert response.status_code == 400
    assert "already have a dataset named Animals" in response.json()["errors"]["name"]


def test_s3_secrets_are_never_returned(alice, alice_api):
    dataset = Dataset.objects.create(owner=alice, name="Bucket", source_type="s3", bucket="b", access_key_id="id", secret_access_key="s3cr3t")
    for url in (f"/api/v1/datasets/{dataset.pk}/", f"/api/v1/datasets/{dataset.pk}/datasource/", "/api/v1/datasets/"):
        text = alice_api.get(url).content.decode()
        assert "s3cr3t" not in text and "secret_access_key" not in text
    assert alice_api.get(f"/api/v1/datasets/{dataset.pk}/datasource/").json()["bucket"] == "b"


def test_rename_and_repoint_a_dataset(alice_api, dataset, root):
    other = root / "other"
    (other / "x").mkdir(parents=True)
    from selection_engine.synthetic import write_images

    write_images(other, 5, size=(16, 16))
    renamed = alice_api.patch(f"/api/v1/datasets/{dataset.pk}/", {"name": "Renamed", "description": "d"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
    moved = alice_api.put(f"/api/v1/datasets/{dataset.pk}/datasource/", {"type": "local", "path": str(other)}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["image_count"] == 5 and moved.json()["datasource"]["path"] == str(other.resolve())
    refused = alice_api.patch(f"/api/v1/datasets/{dataset.pk}/", {"datasource": {"type": "local", "path": "/etc"}}, format="json")
    assert refused.status_code == 400 and "datasource.path" in refused.json()["errors"]
    dataset.refresh_from_db()
    assert dataset.path == str(other.resolve())


def test_test_the_datasource(alice_api, dataset):
    report = alice_api.post(f"/api/v1/datasets/{dataset.pk}/datasource/test/").json()
    assert report["ok"] is True and report["image_count"] == 24 and len(report["examples"]) == 8


def test_delete_a_dataset(alice_api, dataset):
    assert alice_api.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 204
    assert not Dataset.objects.exists()


def test_another_users_dataset_does_not_exist(bob_api, dataset):
    pk = dataset.pk
    assert bob_api.get("/api/v1/datasets/").json()["count"] == 0
    for method, url in [
        ("get", f"/api/v1/datasets/{pk}/"), ("patch", f"/api/v1/datasets/{pk}/"), ("delete", f"/api/v1/datasets/{pk}/"),
        ("get", f"/api/v1/datasets/{pk}/datasource/"), ("put", f"/api/v1/datasets/{pk}/datasource/"),
        ("post", f"/api/v1/datasets/{pk}/datasource/test/"), ("get", f"/api/v1/datasets/{pk}/uploads/"),
        ("post", f"/api/v1/datasets/{pk}/uploads/"),
    ]:
        response = getattr(bob_api, method)(url, {"name": "stolen", "type": "local", "path": "/"}, format="json")
        assert response.status_code == 404, (method, url)
        assert response["Content-Type"] == "application/json"
    dataset.refresh_from_db()
    assert dataset.name == "Animals"


def test_malformed_ids_and_unknown_paths_are_json_404s(alice_api, dataset):
    for url in ("/api/v1/datasets/1.5/", "/api/v1/datasets/-1/", f"/api/v1/datasets/{2**70}/", "/api/v1/nothing/"):
        response = alice_api.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", url
