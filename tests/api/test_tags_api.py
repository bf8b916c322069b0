"""Tags through the API: list, create from filenames or a run's filtered samples, export, delete."""

from webapp.datasets.models import Tag


def url(dataset, tail=""):
    return f"/api/v1/datasets/{dataset.pk}/tags/{tail}"


def test_a_completed_run_tag_is_listed(alice_api, completed_run):
    [tag] = alice_api.get(url(completed_run.dataset)).json()
    assert (tag["name"], tag["size"], tag["run"], tag["query"]) == (f"run-{completed_run.pk}-selected", 6, completed_run.pk, {})


def test_tags_from_filenames_and_from_filtered_run_samples(alice_api, completed_run):
    dataset = completed_run.dataset
    names = list(completed_run.samples.values_list("filename", flat=True)[:3])
    made = alice_api.post(url(dataset), {"name": "three", "filenames": names + names[:1]}, format="json")
    assert made.status_code == 201 and made.json()["size"] == 3
    made = alice_api.post(url(dataset), {"name": "cats", "run": completed_run.pk, "filters": {"tab": "all", "class": "cat"}}, format="json")
    cats = set(completed_run.samples.filter(classes__contains="|cat|").values_list("filename", flat=True))
    assert made.status_code == 201 and made.json()["size"] == len(cats)
    tag = Tag.objects.get(name="cats")
    assert set(tag.items.values_list("filename", flat=True)) == cats and tag.query == {"tab": "all", "cls": "cat"}


def test_bad_tag_requests_are_400_with_the_field(alice_api, completed_run):
    dataset = completed_run.dataset
    cases = [
        ({"name": "x"}, "filenames"),
        ({"name": "x", "filenames": ["a.png"], "run": completed_run.pk}, "filenames"),
        ({"name": "x", "filenames": ["../etc/passwd"]}, "filenames"),
        ({"name": "x", "run": completed_run.pk, "filters": {"score_min": "abc"}}, "filters"),
        ({"name": f"run-{completed_run.pk}-selected", "filenames": ["a.png"]}, "name"),
    ]
    for body, field in cases:
        response = alice_api.post(url(dataset), body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], (body, response.json())


def test_export_formats_and_delete(alice_api, completed_run):
    dataset = completed_run.dataset
    tag = Tag.objects.get(dataset=dataset)
    names = sorted(tag.items.values_list("filename", flat=True))
    csv = alice_api.get(url(dataset, f"{tag.pk}/export/"), {"file_format": "csv"})
    assert csv["Content-Type"].startswith("text/csv") and csv.content.decode().splitlines() == ["filenames", *names]
    assert alice_api.get(url(dataset, f"{tag.pk}/export/"), {"file_format": "txt"}).content.decode().splitlines() == names
    assert alice_api.get(url(dataset, f"{tag.pk}/export/")).json()["filenames"] == names
    assert alice_api.get(url(dataset, f"{tag.pk}/export/"), {"file_format": "xml"}).status_code == 400
    assert alice_api.delete(url(dataset, f"{tag.pk}/")).status_code == 204
    assert not Tag.objects.filter(pk=tag.pk).exists()


def test_other_users_tags_do_not_exist(bob_api, completed_run):
    dataset = completed_run.dataset
    tag = Tag.objects.get(dataset=dataset)
    assert bob_api.get(url(dataset)).status_code == 404
    assert bob_api.get(url(dataset, f"{tag.pk}/export/")).status_code == 404
    assert bob_api.delete(url(dataset, f"{tag.pk}/")).status_code == 404
    assert bob_api.post(url(dataset), {"name": "x", "filenames": ["a.png"]}, format="json").status_code == 404
    assert Tag.objects.filter(pk=tag.pk).exists()
