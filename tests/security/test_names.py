"""Names a user gives (tags, datasets, presets, API tokens) are checked the same way on every path
and every database: at most the column's length, no control characters, a clear error naming the
field instead of a 500 (PostgreSQL) or a silently stored or truncated name (SQLite).

"Tag all" with a 101-character name was a 500 on PostgreSQL; a tag name with a newline was
accepted and then broke its export. Quotes, semicolons and any Unicode letters stay allowed.
Run on PostgreSQL too by ``test_on_postgresql.py``.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from webapp.accounts.models import ApiToken
from webapp.accounts.services import create_token
from webapp.datasets.models import Dataset, Tag
from webapp.runs.models import Preset
from webapp.runs.services import save_preset

#: Refused everywhere, with the reason the user reads.
BAD = {
    "a\nb": "a newline at position 2",
    "a\rb": "a carriage return at position 2",
    "tab\there": "a tab at position 4",
    "\x1b[31mred": "U+001B",
    "del\x7f": "U+007F",
    "c1\x85c1": "U+0085",
    "x" * 101: "at most 100 characters (this one has 101)",
    "   ": "a name",
}
#: How a form shows a field's error.
FIELD_ERROR = '<p class="error">'
#: Accepted everywhere (the 100 characters of the column, after stripping, are fine).
GOOD = ['say "cheese"', "semi;colon", "données 猫 🐱", "back\\slash", " padded ", "y" * 100]


def test_tag_names_through_the_api(alice_api, completed_run):
    dataset = completed_run.dataset
    names = list(completed_run.samples.values_list("filename", flat=True)[:2])
    url = f"/api/v1/datasets/{dataset.pk}/tags/"
    for name in BAD:
        for body in ({"name": name, "filenames": names}, {"name": name, "run": completed_run.pk, "filters": {"tab": "all"}}):
            response = alice_api.post(url, body, format="json")
            assert response.status_code == 400, (name, response.status_code)
            assert "name" in response.json()["errors"], (name, response.json())
    response = alice_api.post(url, {"name": "nul\x00", "filenames": names}, format="json")
    assert response.status_code == 400 and "name" in response.json()["errors"]
    for i, name in enumerate(GOOD):
        body = {"name": name, "filenames": names} if i % 2 else {"name": name, "run": completed_run.pk, "filters": {"tab": "all"}}
        response = alice_api.post(url, body, format="json")
        assert response.status_code == 201, (name, response.json())
        assert response.json()["name"] == name.strip()
    assert Tag.objects.filter(dataset=dataset).count() == 1 + len(GOOD)


def test_tag_all_on_the_gallery_page(alice_client, completed_run):
    url = f"/runs/{completed_run.pk}/tags/"
    for name, reason in {**BAD, "nul\x00": "a NUL character at position 4"}.items():
        response = alice_client.post(url, {"tab": "all", "name": name, "view": "tab=all"}, follow=True)
        assert response.status_code == 200, name
        page = response.content.decode()
        assert reason in page and "msg-error" in page, (name, page[-3000:])
    assert Tag.objects.filter(dataset=completed_run.dataset).count() == 1  # the run's own tag only
    for name in GOOD:
        response = alice_client.post(url, {"tab": "all", "name": name, "view": "tab=all"}, follow=True)
        assert Tag.objects.filter(dataset=completed_run.dataset, name=name.strip()).exists(), name


def test_dataset_names_on_the_page_and_the_api(alice_client, alice_api, images):
    folder = str(images[0])
    for name in (*BAD, "nul\x00"):
        page = alice_client.post("/datasets/new/", {"name": name, "source_type": "local", "path": folder})
        assert page.status_code == 200 and FIELD_ERROR in page.content.decode(), name
        api = alice_api.post("/api/v1/datasets/", {"name": name, "datasource": {"type": "local", "path": folder}}, format="json")
        assert api.status_code == 400 and "name" in api.json()["errors"], (name, api.json())
    assert not Dataset.objects.exists()
    made = alice_api.post("/api/v1/datasets/", {"name": 'Pets "v2"', "datasource": {"type": "local", "path": folder}}, format="json")
    assert made.status_code == 201
    for name in BAD:
        renamed = alice_api.patch(f"/api/v1/datasets/{made.json()['id']}/", {"name": name}, format="json")
        assert renamed.status_code == 400 and "name" in renamed.json()["errors"], name
        edited = alice_client.post(f"/datasets/{made.json()['id']}/edit/", {"name": name, "source_type": "local", "path": folder})
        assert edited.status_code == 200 and FIELD_ERROR in edited.content.decode(), name
    assert Dataset.objects.get().name == 'Pets "v2"'


def test_preset_names_in_the_wizard_and_the_service(alice_client, alice, dataset):
    from tests.webapp.test_run_wizard import review_documents, walk_to_review

    docs = review_documents(walk_to_review(alice_client, dataset).content.decode())
    for name, reason in BAD.items():
        response = alice_client.post("/runs/new/review/", {
            "worker_config": "{}", "lightly_config": "{}", "preset_name": name, "action": "preset"})
        assert response.status_code == 200, name
        assert FIELD_ERROR in response.content.decode(), name
        with pytest.raises(ValidationError) as raised:
            save_preset(alice, dataset, name=name, worker_config=docs["worker_config"], lightly_config=docs["lightly_config"], selection_config=None)
        assert reason in " ".join(raised.value.message_dict["name"]), name
    assert not Preset.objects.exists()
    saved = save_preset(alice, dataset, name=" données 猫 ", worker_config=docs["worker_config"], lightly_config=docs["lightly_config"], selection_config=None)
    assert saved.name == "données 猫"


def test_token_names_on_the_page_the_service_and_the_command(client, alice):
    client.force_login(alice)
    for name, reason in BAD.items():
        if not name.strip():
            continue  # an empty name is "API token"
        page = client.post("/accounts/settings/tokens/", {"name": name})
        assert page.status_code == 200 and FIELD_ERROR in page.content.decode(), name
        with pytest.raises(ValidationError) as raised:
            create_token(alice, name)
        assert reason in " ".join(raised.value.message_dict["name"]), name
        with pytest.raises(CommandError, match="--name"):
            call_command("create_api_token", "alice", "--name", name)
    assert not ApiToken.objects.exists()
    record, _ = create_token(alice, "  ")
    assert record.name == "API token"
    assert create_token(alice, 'CI "nightly"; 猫')[0].name == 'CI "nightly"; 猫'
