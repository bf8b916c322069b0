"""Compare: the dataset is chosen first and the pickers list only its runs; the thumbnails link
to their samples and show their scores; ids that are not the user's are 404s, bad ones 400s."""

import html
import re

from webapp.runs.services import schedule_run
from webapp.runs.tasks import execute_run

from .conftest import SMALL_MODEL, make_dataset


def options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S).group(1)
    return [v for v in re.findall(r'<option value="(\d*)"', select) if v]


def random_run(user, dataset, n=6):
    run = schedule_run(user, dataset, worker_config={"method": "random", "stopping_condition": {"n_samples": n}}, lightly_config=SMALL_MODEL)
    assert execute_run(run.pk) == "completed"
    run.refresh_from_db()
    return run


def test_the_pickers_list_only_the_runs_of_the_chosen_dataset(alice_client, alice, completed_run, root):
    same = random_run(alice, completed_run.dataset)
    other_dataset = make_dataset(alice, root / "animals", name="Animals again")
    elsewhere = random_run(alice, other_dataset)
    page = alice_client.get("/runs/compare/", {"a": completed_run.pk}).content.decode()
    assert set(options(page, "dataset")) == {str(completed_run.dataset.pk), str(other_dataset.pk)}
    assert set(options(page, "a")) == set(options(page, "b")) == {str(completed_run.pk), str(same.pk)}
    page = alice_client.get("/runs/compare/", {"dataset": other_dataset.pk}).content.decode()
    assert options(page, "a") == [str(elsewhere.pk)]
    # two runs of different datasets are said to be incomparable
    page = alice_client.get("/runs/compare/", {"a": completed_run.pk, "b": elsewhere.pk}).content.decode()
    assert "Compare runs of the same dataset." in page


def test_thumbnails_link_to_their_samples_and_show_their_scores(alice_client, alice, completed_run):
    other = random_run(alice, completed_run.dataset)
    page = alice_client.get("/runs/compare/", {"a": completed_run.pk, "b": other.pk}).content.decode()
    only_a = page.split('id="only-a"')[1].split("</section>")[0]
    picked_a = set(completed_run.samples.filter(selected=True).values_list("filename", flat=True))
    picked_b = set(other.samples.filter(selected=True).values_list("filename", flat=True))
    assert picked_a - picked_b, "the two selections are the same: nothing to check"
    for name in picked_a - picked_b:
        sample = completed_run.samples.get(filename=name)
        figure = re.search(rf'<figure><a href="([^"]+)"><img[^>]*alt="{re.escape(name)}".*?</figure>', only_a, re.S)
        assert figure, name
        assert html.unescape(figure.group(1)) == f"/runs/{completed_run.pk}/samples/{sample.pk}/?tab=selected"
        value = sample.scores["animals/uncertainty_margin"]
        assert f'<dt title="animals/uncertainty_margin">uncertainty_<wbr>margin</dt><dd>{value:.3f}</dd>' in figure.group(0)


def test_other_users_ids_are_not_found_and_bad_ones_are_named(client, bob, completed_run):
    client.force_login(bob)
    assert client.get("/runs/compare/", {"dataset": completed_run.dataset.pk}).status_code == 404
    assert client.get("/runs/compare/", {"a": completed_run.pk}).status_code == 404
    response = client.get("/runs/compare/", {"dataset": "abc"})
    assert response.status_code == 400 and "dataset" in response.content.decode()
    page = client.get("/runs/compare/").content.decode()
    assert "No completed runs to compare yet." in page
