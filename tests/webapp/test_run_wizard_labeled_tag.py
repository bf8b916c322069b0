"""The run wizard's "already labeled" tag: the review's worker config names a file of the tag's
images in the user's folder (labeled_filenames_file), and the run never picks them."""

import json

from webapp.datasets.tags import create_tag
from webapp.runs.models import Run, RunSample
from webapp.runs.tasks import execute_run

from .conftest import make_dataset
from .test_run_wizard import review_documents, step, walk_to_review


def test_a_labeled_tag_becomes_the_labeled_filenames_file_and_is_never_picked(alice_client, alice, dataset, images, settings):
    _, names = images
    labeled = names[:8]
    tag = create_tag(dataset, "labeled by us", labeled)

    page = walk_to_review(alice_client, dataset, options={"labeled_tag": str(tag.pk)}).content.decode()
    options = alice_client.get("/runs/new/options/").content.decode()
    assert "Already labeled" in options and f'<option value="{tag.pk}" selected>labeled by us (8 images)</option>' in options
    worker = review_documents(page)["worker_config"]
    assert worker["labeled_filenames_file"] == f"labeled/tag-{tag.pk}.txt"
    written = settings.DATA_DIR / "users" / str(alice.pk) / "labeled" / f"tag-{tag.pk}.txt"
    assert written.read_text().splitlines() == sorted(labeled)

    docs = review_documents(page)
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": json.dumps(docs["lightly_config"]),
        "selection_config": "null", "action": "queue"})
    run = Run.objects.get()
    assert response.status_code == 302 and run.worker_config["labeled_filenames_file"] == f"labeled/tag-{tag.pk}.txt"
    assert execute_run(run.pk) == "completed", Run.objects.get().error
    picked = set(RunSample.objects.filter(run=run, selected=True).values_list("filename", flat=True))
    assert len(picked) == 5 and not picked & set(labeled)
    reasons = dict(RunSample.objects.filter(run=run, filename__in=labeled).values_list("filename", "reason"))
    assert set(reasons.values()) == {"labeled already (labeled_filenames_file)"}


def test_no_tag_means_no_labeled_file(alice_client, dataset):
    worker = review_documents(walk_to_review(alice_client, dataset).content.decode())["worker_config"]
    assert "labeled_filenames_file" not in worker


def test_only_the_datasets_own_tags_are_offered_and_accepted(alice_client, alice, bob, dataset, images, root):
    from tests.factories import image_folder

    image_folder(root / "other", n=4)
    other = create_tag(make_dataset(alice, root / "other", name="Other"), "other tag", ["cats/0000.png"])
    image_folder(root / "bobs", n=4)
    bobs = create_tag(make_dataset(bob, root / "bobs", name="Bob's"), "bob's tag", ["cats/0000.png"])
    walk_to_review(alice_client, dataset)
    page = alice_client.get("/runs/new/options/").content.decode()
    assert "other tag" not in page and "bob&#x27;s tag" not in page
    for foreign in (other, bobs):
        response = step(alice_client, "options", {"invalid_predictions": "fail", "n_example_images": "2", "labeled_tag": str(foreign.pk)})
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
