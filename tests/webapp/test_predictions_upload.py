"""Uploading predictions: validated per file by the engine, all or nothing, safe to unpack."""

import io
import json
import stat
import zipfile

from webapp.datasets.models import PredictionTask

from .conftest import TASK, upload, zip_bytes


def stored_files(dataset):
    root = dataset.uploads_dir
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def test_a_valid_lightly_zip_is_accepted_and_its_task_listed(dataset, images):
    _, names = images
    task = PredictionTask.objects.get(dataset=dataset)
    assert (task.name, task.task_type, task.categories) == (TASK, "classification", ["cat", "dog"])
    assert (task.coverage, task.n_images) == (len(names), len(names))
    upload_record = dataset.uploads.get()
    assert upload_record.accepted and upload_record.summary == f"Accepted {len(names) + 2} files."


def test_the_dataset_page_lists_tasks_and_the_upload_report(alice_client, dataset):
    page = alice_client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert TASK in page and "classification" in page and "24 / 24" in page
    assert "predictions.zip" in page and "Accepted 26 files." in page


def test_a_bad_file_rejects_the_whole_upload_and_keeps_what_was_stored(dataset, alice, images):
    _, names = images
    before = stored_files(dataset)
    stem = names[0].rsplit(".", 1)[0]
    bad = zip_bytes({
        "new-task/schema.json": json.dumps({"task_type": "classification", "categories": [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}]}),
        f"new-task/{stem}.json": json.dumps({"file_name": names[0], "predictions": [{"category_id": 0, "probabilities": [0.2, 0.3, 0.5]}]}),
        f"new-task/{names[1].rsplit('.', 1)[0]}.json": "{not json",
    })
    record = upload(dataset, alice, bad)
    assert not record.accepted
    problems = {row["file"]: row["message"] for row in record.report if row["status"] == "error"}
    assert f".lightly/predictions/new-task/{stem}.json" in problems
    assert "probabilities" in problems[f".lightly/predictions/new-task/{stem}.json"]
    assert f".lightly/predictions/new-task/{names[1].rsplit('.', 1)[0]}.json" in problems
    assert record.summary.startswith("Rejected: 2 problems")
    assert stored_files(dataset) == before
    assert list(dataset.tasks.values_list("name", flat=True)) == [TASK]


def test_the_page_shows_a_rejected_upload_with_the_file_and_problem(alice_client, dataset, images):
    _, names = images
    stem = names[0].rsplit(".", 1)[0]
    archive = zip_bytes({f"{TASK}/schema.json": json.dumps({"task_type": "classification", "categories": [{"id": 0, "name": "cat"}]}),
                         f"{TASK}/{stem}.json": json.dumps({"file_name": names[0], "predictions": [{"category_id": 7}]})})
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = alice_client.post(f"/datasets/{dataset.pk}/upload/", {"archive": SimpleUploadedFile("bad.zip", archive)}, follow=True)
    page = response.content.decode()
    assert "bad.zip: Rejected" in page
    assert f".lightly/predictions/{TASK}/{stem}.json" in page and "category_id" in page


def test_single_task_folders_are_added_to_tasks_json(dataset, alice, images):
    _, names = images
    files = {"detector/schema.json": json.dumps({"task_type": "object-detection", "categories": [{"id": 0, "name": "cat"}]})}
    for name in names[:5]:
        files[f"detector/{name.rsplit('.', 1)[0]}.json"] = json.dumps(
            {"file_name": name, "predictions": [{"category_id": 0, "bbox": [1, 1, 10, 10], "score": 0.8}]})
    record = upload(dataset, alice, zip_bytes(files))
    assert record.accepted, record.report
    assert json.loads((dataset.uploads_dir / ".lightly/predictions/tasks.json").read_text()) == [TASK, "detector"]
    detector = dataset.tasks.get(name="detector")
    assert (detector.task_type, detector.coverage) == ("object-detection", 5)


def test_entries_that_would_leave_the_folder_are_refused(dataset, alice):
    before = stored_files(dataset)
    for entry in ("../../evil.json", "/etc/evil.json", "a/../../evil.json"):
        record = upload(dataset, alice, zip_bytes({entry: "{}"}))
        assert not record.accepted
        assert "unsafe path" in record.report[0]["message"], entry
    assert stored_files(dataset) == before
    assert not (dataset.uploads_dir.parent.parent / "evil.json").exists()


def test_symlink_entries_are_refused(dataset, alice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(f"{TASK}/link.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    record = upload(dataset, alice, buffer.getvalue())
    assert not record.accepted and "symbolic links" in record.report[0]["message"]


def test_not_a_zip_and_too_large_uploads_are_refused(dataset, alice, settings):
    record = upload(dataset, alice, b"just text", name="notes.txt")
    assert not record.accepted and "not a zip file" in record.report[0]["message"]
    settings.MAX_UPLOAD_BYTES = 100
    record = upload(dataset, alice, zip_bytes({f"{TASK}/x.json": "x" * 500}))
    assert not record.accepted and "limited to" in record.report[0]["message"]


def test_an_archive_that_unpacks_to_far_more_than_allowed_is_refused(dataset, alice, settings):
    settings.MAX_UPLOAD_BYTES = 1000  # the archive may unpack to at most 20x this
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{TASK}/big.json", " " * 100_000)
    record = upload(dataset, alice, buffer.getvalue())
    assert not record.accepted and "would unpack to" in record.report[0]["message"]


METADATA_SCHEMA = [{"name": "weather", "path": "weather", "defaultValue": "sunny", "valueDataType": "CATEGORICAL_STRING"},
                   {"name": "speed", "path": "car.speed", "defaultValue": 0, "valueDataType": "NUMERIC_FLOAT"}]


def test_metadata_is_validated_and_stored_beside_the_predictions(dataset, alice, images):
    _, names = images
    stem = names[0].rsplit(".", 1)[0]
    good = zip_bytes({"metadata/schema.json": json.dumps(METADATA_SCHEMA),
                      f"metadata/{stem}.json": json.dumps({"weather": "rain", "car": {"speed": 12.5}})})
    record = upload(dataset, alice, good)
    assert record.accepted, record.report
    assert json.loads((dataset.uploads_dir / f".lightly/metadata/{stem}.json").read_text())["weather"] == "rain"
    assert (dataset.uploads_dir / f".lightly/predictions/{TASK}/schema.json").exists()  # predictions kept
    before = stored_files(dataset)
    bad = zip_bytes({f"metadata/{stem}.json": json.dumps({"weather": "rain", "car": {"speed": "fast"}})})
    record = upload(dataset, alice, bad)
    assert not record.accepted
    [problem] = record.problems
    assert problem["file"].startswith(f".lightly/metadata/{stem}.json") and "speed" in problem["message"]
    assert stored_files(dataset) == before
