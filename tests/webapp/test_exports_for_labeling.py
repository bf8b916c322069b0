"""Exports for labeling tools from the pages: a tag and a run's selection as a Label Studio tasks
file, a COCO images list and a zip of the images (streamed), each parsed the way its reader would."""

from __future__ import annotations

import io
import json
import zipfile

from django.http import StreamingHttpResponse

from webapp.datasets import exports
from webapp.datasets.models import Dataset, Tag
from webapp.datasets.tags import create_tag
from webapp.runs.models import Run

from .conftest import IMAGE_SIZE, TASK


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def check_label_studio(tasks, names: list[str]) -> None:
    """What Label Studio's JSON import reads: a list of task objects, each with a ``data`` dict
    holding the labeling config's image key; ``meta`` and ``predictions``, when given, well-formed."""
    assert isinstance(tasks, list) and len(tasks) == len(names)
    for task, name in zip(tasks, names):
        assert isinstance(task, dict) and set(task) <= {"data", "meta", "predictions", "annotations", "id"}
        assert isinstance(task["data"], dict) and isinstance(task["data"]["image"], str)
        assert task["data"]["filename"] == name
        assert isinstance(task.get("meta", {}), dict)
        assert isinstance(task.get("predictions", []), list)


def test_a_tag_exports_for_label_studio_coco_and_as_a_zip_of_its_images(alice_client, completed_run, images):
    folder, _ = images
    tag = Tag.objects.get(dataset=completed_run.dataset)  # the run's selection tag
    names = sorted(tag.items.values_list("filename", flat=True))
    base = f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export"

    response = alice_client.get(f"{base}.labelstudio")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="{tag.name}.labelstudio.json"'
    tasks = json.loads(response.content)
    check_label_studio(tasks, names)
    # a local folder: Label Studio's local-files URL, relative to the dataset's folder
    assert [t["data"]["image"] for t in tasks] == [f"/data/local-files/?d={n}" for n in names]
    scores = {s.filename: s for s in completed_run.samples.filter(selected=True)}
    for task in tasks:
        sample = scores[task["data"]["filename"]]
        assert task["data"]["selected"] is True and task["data"]["rank"] == sample.rank
        assert task["data"]["score"] == sample.score == sample.scores[completed_run.primary_score]
        assert task["data"]["scores"][f"{TASK}/uncertainty_margin"] == sample.scores[f"{TASK}/uncertainty_margin"]
        assert task["meta"] == {"dataset": "Animals", "tag": tag.name}

    coco = json.loads(alice_client.get(f"{base}.coco").content)
    assert [i["file_name"] for i in coco["images"]] == names
    assert [i["id"] for i in coco["images"]] == list(range(1, len(names) + 1))
    assert {(i["width"], i["height"]) for i in coco["images"]} == {(IMAGE_SIZE[1], IMAGE_SIZE[0])}
    assert coco["annotations"] == [] and coco["categories"] == [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]

    response = alice_client.get(f"{base}.zip")
    assert isinstance(response, StreamingHttpResponse)  # streamed, never one string in memory
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{tag.name}.zip"'
    with zipfile.ZipFile(io.BytesIO(body(response))) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == names
        for name in names:
            assert archive.read(name) == (folder / name).read_bytes()


def test_a_runs_selection_exports_in_rank_order(alice_client, completed_run):
    by_rank = list(completed_run.samples.filter(selected=True).order_by("rank").values_list("filename", flat=True))
    base = f"/runs/{completed_run.pk}/selection/export"

    response = alice_client.get(f"{base}.labelstudio")
    assert response["Content-Disposition"] == f'attachment; filename="run-{completed_run.pk}-selected.labelstudio.json"'
    tasks = json.loads(response.content)
    check_label_studio(tasks, by_rank)
    assert [t["data"]["rank"] for t in tasks] == list(range(1, len(by_rank) + 1))
    assert tasks[0]["meta"] == {"dataset": "Animals", "run": completed_run.pk}

    assert [i["file_name"] for i in json.loads(alice_client.get(f"{base}.coco").content)["images"]] == by_rank
    assert alice_client.get(f"{base}.txt").content.decode().splitlines() == by_rank
    assert json.loads(alice_client.get(f"{base}.json").content)["filenames"] == by_rank
    with zipfile.ZipFile(io.BytesIO(body(alice_client.get(f"{base}.zip")))) as archive:
        assert archive.namelist() == by_rank


def test_the_gallery_links_the_selection_exports(alice_client, completed_run):
    page = alice_client.get(f"/runs/{completed_run.pk}/gallery/").content.decode()
    for fmt in ("labelstudio", "coco", "zip", "csv"):
        assert f'href="/runs/{completed_run.pk}/selection/export.{fmt}"' in page
    dataset_page = alice_client.get(f"/datasets/{completed_run.dataset.pk}/").content.decode()
    tag = Tag.objects.get(dataset=completed_run.dataset)
    assert f'href="/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export.labelstudio"' in dataset_page


def test_a_zip_streams_in_pieces_of_bounded_size_whatever_the_files(tmp_path):
    from selection_engine.sources import LocalSource

    big = tmp_path / "big.jpg"
    big.write_bytes(bytes(range(256)) * (3 * exports.CHUNK // 256 + 1))  # over three chunks
    (tmp_path / "small.png").write_bytes(b"png")
    pieces = list(exports.zip_stream(LocalSource(tmp_path), ["big.jpg", "small.png"]))
    assert len(pieces) >= 4 and max(len(p) for p in pieces) <= exports.CHUNK + 1024  # never the whole archive at once
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as archive:
        assert archive.read("big.jpg") == big.read_bytes() and archive.read("small.png") == b"png"


def test_a_zip_lists_the_files_it_could_not_read(alice_client, completed_run, images):
    folder, names = images
    tag = create_tag(completed_run.dataset, "with-a-gone-file", [names[0], "cats/gone.png"])
    response = alice_client.get(f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export.zip")
    with zipfile.ZipFile(io.BytesIO(body(response))) as archive:
        assert archive.namelist() == [names[0], exports.MISSING_LIST]
        assert archive.read(names[0]) == (folder / names[0]).read_bytes()
        assert archive.read(exports.MISSING_LIST).decode().startswith("cats/gone.png: ")


def test_a_tag_of_plain_filenames_exports_without_scores_or_sizes(alice_client, completed_run, images):
    _folder, names = images
    tag = create_tag(completed_run.dataset, "plain", names[:2])
    base = f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export"
    tasks = json.loads(alice_client.get(f"{base}.labelstudio").content)
    assert [t["data"] for t in tasks] == [{"image": f"/data/local-files/?d={n}", "filename": n} for n in names[:2]]
    coco = json.loads(alice_client.get(f"{base}.coco").content)
    assert coco["images"] == [{"id": 1, "file_name": names[0]}, {"id": 2, "file_name": names[1]}]
    assert coco["categories"] == []


def test_label_studio_references_follow_the_datasource_type():
    s3 = Dataset(source_type=Dataset.S3, bucket="shots", prefix="/2024/june/")
    assert exports.image_reference(s3, "cats/a b.jpg") == "s3://shots/2024/june/cats/a b.jpg"
    assert exports.image_reference(Dataset(source_type=Dataset.S3, bucket="shots"), "a.jpg") == "s3://shots/a.jpg"
    local = Dataset(source_type=Dataset.LOCAL, path="/data/cats")
    # the query string is escaped (a "#" or "&" in a name would cut it short)
    assert exports.image_reference(local, "new #2/a&b c.png") == "/data/local-files/?d=new%20%232/a%26b%20c.png"


def test_other_users_exports_do_not_exist_and_unknown_formats_are_no_page(client, bob, alice_client, completed_run):
    tag = Tag.objects.get(dataset=completed_run.dataset)
    assert alice_client.get(f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export.xml").status_code == 404
    assert alice_client.get(f"/runs/{completed_run.pk}/selection/export.xml").status_code == 404
    client.force_login(bob)
    for fmt in ("labelstudio", "coco", "zip"):
        assert client.get(f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export.{fmt}").status_code == 404
        assert client.get(f"/runs/{completed_run.pk}/selection/export.{fmt}").status_code == 404


def test_a_run_that_is_not_completed_has_no_selection_to_export(alice_client, completed_run):
    Run.objects.filter(pk=completed_run.pk).update(state=Run.FAILED)
    assert alice_client.get(f"/runs/{completed_run.pk}/selection/export.labelstudio").status_code == 404


def test_a_zip_of_a_datasource_that_cannot_be_read_goes_back_saying_why(alice_client, completed_run, settings):
    settings.DATASOURCE_ROOTS = []  # the folder is no longer under an allowed root
    tag = Tag.objects.get(dataset=completed_run.dataset)
    response = alice_client.get(f"/datasets/{completed_run.dataset.pk}/tags/{tag.pk}/export.zip", follow=True)
    assert response.redirect_chain[-1][0] == f"/datasets/{completed_run.dataset.pk}/#tags"
    assert "Cannot read the images of Animals" in response.content.decode()
    response = alice_client.get(f"/runs/{completed_run.pk}/selection/export.zip")
    assert response.status_code == 302 and response["Location"] == f"/runs/{completed_run.pk}/"
