"""Request bodies over the limits are refused in the API's JSON shape (issue 14, case 10).

A JSON body over 2.5 MB got Django's bare HTML 400 (DATA_UPLOAD_MAX_MEMORY_SIZE) while the
README promises 200 MB uploads. Now JSON bodies and form fields have their own stated limit
(WINNOW_MAX_JSON_MB, default 20 MB): a body within it is read; one over it is a 413 with
``{"detail": ...}`` naming the limit and the zip upload to use instead; multipart file uploads
keep WINNOW_MAX_UPLOAD_MB. Whatever Django answers itself on an ``/api/`` path is JSON too.
"""

from __future__ import annotations

import io
import json
import zipfile
from urllib.parse import urlencode

import pytest

from webapp.runs.models import Run

MB = 1024 * 1024


@pytest.fixture
def small_limit(settings):
    """A 256 KB limit on JSON bodies and form fields, so the tests send small bodies."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert body["detail"]
    return body


def test_the_issues_3_mb_json_body_is_read_and_answered_in_json(alice_api, dataset):
    body = {"dataset": dataset.pk, "worker_config": {"stopping_condition": {"n_samples": 3}, "x": "a" * (3 * MB)}}
    response = alice_api.post("/api/v1/runs/", json.dumps(body), content_type="application/json")
    errors = assert_json_error(response, 400)["errors"]
    assert "unknown key" in errors["x"]
    assert not Run.objects.exists()


def test_a_json_body_over_the_limit_is_a_413_naming_the_limit(alice_api, dataset, small_limit):
    body = json.dumps({"dataset": dataset.pk, "worker_config": {"x": "a" * small_limit}})
    response = alice_api.post("/api/v1/runs/", body, content_type="application/json")
    detail = assert_json_error(response, 413)["detail"]
    assert f"{small_limit:,} bytes" in detail and "WINNOW_MAX_JSON_MB" in detail and "zip" in detail
    assert not Run.objects.exists()


def test_predictions_sent_as_json_over_the_limit_are_a_413(alice_api, dataset, small_limit):
    files = {f".lightly/predictions/t/{i}.json": {"pad": "a" * 1000} for i in range(300)}
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/", json.dumps({"files": files}), content_type="application/json")
    assert "WINNOW_MAX_UPLOAD_MB" in assert_json_error(response, 413)["detail"]
    assert dataset.uploads.count() == 1  # the fixture's


def test_form_fields_over_the_limit_are_a_413_too(alice_api, dataset, small_limit):
    for kwargs in ({"format": "multipart"}, {"content_type": "application/x-www-form-urlencoded"}):
        data = {"dataset": dataset.pk, "worker_config": json.dumps({"x": "a" * small_limit})}
        if "content_type" in kwargs:
            data = urlencode(data)
        assert_json_error(alice_api.post("/api/v1/runs/", data, **kwargs), 413)
    assert not Run.objects.exists()


def test_too_many_form_fields_is_a_json_400(alice_api, dataset):
    data = urlencode([("dataset", dataset.pk)] + [(f"f{i}", "x") for i in range(2000)])
    response = alice_api.post("/api/v1/runs/", data, content_type="application/x-www-form-urlencoded")
    assert_json_error(response, 400)


def test_a_zip_upload_larger_than_the_json_limit_is_accepted(alice_api, dataset, predictions_zip, small_limit):
    """Multipart file uploads keep their own limit (WINNOW_MAX_UPLOAD_MB): a zip bigger than the
    JSON limit, of valid predictions padded with whitespace, is read and accepted."""
    padded = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(predictions_zip)) as source, zipfile.ZipFile(padded, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith(".json"):
                content += b" " * 20_000
            target.writestr(info.filename, content)
    data = padded.getvalue()
    assert len(data) > 2 * small_limit
    upload = io.BytesIO(data)
    upload.name = "padded.zip"
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content[:500]
    assert response.json()["accepted"] is True


def test_pages_keep_their_html_error_for_a_body_over_the_limit(alice_client, dataset, small_limit):
    response = alice_client.post("/runs/new/review/", {"worker_config": "a" * (2 * small_limit), "action": "queue"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert not Run.objects.exists()
