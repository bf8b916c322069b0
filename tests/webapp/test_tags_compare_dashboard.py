"""Tags (a run's selection, a filtered view; exports), comparing two runs, the staff dashboard."""

import json

from django.contrib.auth import get_user_model
from django.utils import timezone

from webapp.datasets.models import Tag
from webapp.runs.models import Run
from webapp.runs.services import schedule_run
from webapp.runs.tasks import execute_run

from .conftest import SMALL_MODEL


def selected_names(run) -> set[str]:
    return set(run.samples.filter(selected=True).values_list("filename", flat=True))


def test_a_completed_run_tags_its_selection(completed_run):
    tag = Tag.objects.get(dataset=completed_run.dataset)
    assert (tag.name, tag.size, tag.run_id) == (f"run-{completed_run.pk}-selected", 6, completed_run.pk)
    assert set(tag.items.values_list("filename", flat=True)) == selected_names(completed_run)


def test_a_filtered_view_becomes_a_tag_with_every_match_not_only_the_page(alice_client, completed_run):
    response = alice_client.post(f"/runs/{completed_run.pk}/tags/",
                                 {"tab": "all", "class": "cat", "name": "cats to label", "view": "tab=all&class=cat"}, follow=True)
    tag = Tag.objects.get(name="cats to label")
    expected = set(completed_run.samples.filter(classes__contains="|cat|").values_list("filename", flat=True))
    assert set(tag.items.values_list("filename", flat=True)) == expected and tag.size == len(expected)
    assert tag.query == {"tab": "all", "cls": "cat"}
    assert f"Tagged {len(expected)} images as cats to label." in response.content.decode()
    again = alice_client.post(f"/runs/{completed_run.pk}/tags/", {"tab": "all", "name": "cats to label"}, follow=True)
    assert "already has a tag named cats to label" in again.content.decode()


def test_tags_export_as_csv_json_and_a_list(alice_client, completed_run):
    tag = Tag.objects.get(dataset=completed_run.dataset)
    names = sorted(selected_names(completed_run))
    base = f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export"
    csv_text = alice_client.get(base + ".csv").content.decode()
    assert csv_text.splitlines() == ["filenames", *names]
    body = json.loads(alice_client.get(base + ".json").content)
    assert body["filenames"] == names and body["size"] == 6 and body["tag"] == tag.name
    listing = alice_client.get(base + ".txt")
    assert listing.content.decode().splitlines() == names
    assert listing["Content-Disposition"] == f'attachment; filename="{tag.name}.txt"'
    assert alice_client.get(base + ".xml").status_code == 404


def test_other_users_cannot_export_or_delete_a_tag(client, bob, completed_run):
    client.force_login(bob)
    tag = Tag.objects.get(dataset=completed_run.dataset)
    assert client.get(f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export.csv").status_code == 404
    assert client.post(f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/delete/").status_code == 404
    assert client.post(f"/runs/{completed_run.pk}/tags/", {"name": "x"}).status_code == 404
    assert Tag.objects.filter(pk=tag.pk).exists()


def test_comparing_two_runs_shows_the_overlap_and_the_differences(alice_client, alice, completed_run):
    other = schedule_run(alice, completed_run.dataset, worker_config={"method": "random", "stopping_condition": {"n_samples": 6}}, lightly_config=SMALL_MODEL)
    assert execute_run(other.pk) == "completed"
    other.refresh_from_db()
    a, b = selected_names(completed_run), selected_names(other)
    page = alice_client.get("/runs/compare/", {"a": completed_run.pk, "b": other.pk}).content.decode()
    assert f"<strong>{len(a & b)}</strong> images selected by both" in page
    assert f"<strong>{len(a - b)}</strong> only by run {completed_run.pk}" in page
    for name in a - b:
        assert f'alt="{name}"' in page


def test_the_dashboard_is_for_staff_and_shows_states_failures_and_storage(client, alice, completed_run, dataset):
    failed = schedule_run(alice, dataset, worker_config={"method": "random", "stopping_condition": {"n_samples": 2}}, lightly_config=SMALL_MODEL)
    Run.objects.filter(pk=failed.pk).update(state=Run.FAILED, error="the bucket vanished", finished_at=timezone.now())
    client.force_login(alice)
    assert client.get("/dashboard/").status_code == 302  # not staff: to the admin login
    staff = get_user_model().objects.create_user("ops", password="ops-pass-1", is_staff=True)
    client.force_login(staff)
    page = client.get("/dashboard/").content.decode()
    assert 'data-state="completed">1<' in page and 'data-state="failed">1<' in page
    assert "the bucket vanished" in page
    assert "run outputs" in page and "thumbnails" in page
    assert "No worker has reported" in page  # no qcluster runs beside the test client
