"""The run page (issue 17): one overall bar across the stages with the stage in words, a headline
on completion (selected of candidates, mean score selected vs all, class mix, links to the
results), a canceled run that reads canceled, and Re-run only for finished runs."""

import html
import json
import re

from django.utils import timezone

from webapp.runs.models import Run, RunSample
from webapp.runs.services import schedule_run

from .conftest import CORAL, SMALL_MODEL, TASK


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no #{element_id}"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", match.group(2)))).strip()


def test_a_completed_run_leads_with_its_headline(alice_client, completed_run):
    run = completed_run
    report = json.loads((run.directory / "report.json").read_text())
    candidates = report["job"]["candidates"]
    page = alice_client.get(f"/runs/{run.pk}/").content.decode()

    assert text_of(page, "selected-count") == f"6 of {candidates} candidates selected."
    scores = list(run.samples.exclude(score=RunSample.NO_SCORE).values_list("score", "selected"))
    mean_all = sum(s for s, _ in scores) / len(scores)
    mean_selected = sum(s for s, picked in scores if picked) / sum(1 for _, picked in scores if picked)
    assert text_of(page, "headline-score") == (
        f"Mean {TASK}/uncertainty_margin: {mean_selected:.3f} in the selection vs {mean_all:.3f} over all images."
    )
    mix = report["statistics"]["classes"][TASK]
    rows = re.findall(r"<tr><td>(\w+)</td><td class=\"num\">(\d+)%</td><td class=\"num\">(\d+)%</td></tr>", page)
    assert rows == [(name, str(round(100 * before)), str(round(100 * after)))
                    for name, before, after in zip(mix["classes"], mix["share_before"], mix["share_after"])]
    assert f"Class mix of {TASK}, before and after" in text_of(page, "class-mix")

    links = re.search(r'<div class="link-row" id="result-links">(.*?)</div>', page, re.S).group(1)
    hrefs = {text: href for href, text in re.findall(r'<a class="button[^"]*" href="([^"]+)">([^<]+)</a>', links)}
    assert hrefs.items() >= {  # the selection's export links join them
        "Gallery": f"/runs/{run.pk}/gallery/", "Plots": f"/runs/{run.pk}/plots/",
        "Compare": f"/runs/compare/?a={run.pk}", "report.pdf": f"/runs/{run.pk}/artifacts/report.pdf",
    }.items()
    for href in hrefs.values():
        assert alice_client.get(href).status_code == 200, href
    # finished: Re-run, no Cancel; the bar is full and says so
    assert 'id="rerun"' in page and 'id="cancel"' not in page
    assert 'style="width: 100%"' in page and text_of(page, "stage") == "Done"
    assert "null" not in text_of(page, "config-selection_config")


def test_the_status_has_one_bar_across_the_stages_with_the_stage_in_words(alice_client, dataset, alice):
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    status = alice_client.get(f"/runs/{run.pk}/status.json").json()
    assert (status["state"], status["overall"], status["stage_label"]) == ("queued", 0.0, "Waiting for a worker")
    now = timezone.now()
    # half way through the embeddings: load, corruptness and duplicates are behind it (1 + 2 + 1
    # of 15 shares: load 1, corruptness 2, duplicates 1, embeddings 4, scores 1, metadata 2,
    # selection 1, outputs 1, report 2), half the embeddings' 4 done
    Run.objects.filter(pk=run.pk).update(state=Run.RUNNING, stage="embeddings", progress_done=5, progress_total=10,
                                         progress_message="Embedding images", started_at=now, heartbeat_at=now)
    status = alice_client.get(f"/runs/{run.pk}/status.json").json()
    assert status["overall"] == round(6 / 15, 4) and status["fraction"] == 0.5
    assert status["stage_label"] == "Computing image embeddings"
    page = alice_client.get(f"/runs/{run.pk}/").content.decode()
    assert 'style="width: 40%"' in page and text_of(page, "stage") == "Computing image embeddings"
    assert 'id="cancel"' in page and 'id="rerun"' not in page  # not finished: no Re-run
    assert 'id="headline"' not in page
    # with training on, the training stage counts too (8 more shares) and comes before the embeddings
    Run.objects.filter(pk=run.pk).update(worker_config={**CORAL, "enable_training": True})
    assert alice_client.get(f"/runs/{run.pk}/status.json").json()["overall"] == round((4 + 8 + 2) / 23, 4)


def test_rerun_is_refused_for_a_run_that_has_not_finished(alice_client, dataset, alice):
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    for state in (Run.QUEUED, Run.RUNNING):
        Run.objects.filter(pk=run.pk).update(state=state, heartbeat_at=timezone.now())
        response = alice_client.post(f"/runs/{run.pk}/rerun/", follow=True)
        assert f"Cannot re-run: state: run {run.pk} is still {state}" in response.content.decode()
        assert Run.objects.count() == 1
    Run.objects.filter(pk=run.pk).update(state=Run.FAILED, error="boom", finished_at=timezone.now())
    assert alice_client.post(f"/runs/{run.pk}/rerun/").status_code == 302
    assert Run.objects.filter(rerun_of=run).count() == 1


def test_a_canceled_run_reads_canceled_not_failed(alice_client, dataset, alice):
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    alice_client.post(f"/runs/{run.pk}/cancel/")
    page = alice_client.get(f"/runs/{run.pk}/").content.decode()
    assert re.search(r'<span id="state" class="state state-canceled">canceled</span>', page)
    note = re.search(r'<p id="canceled-note" class="note"\s*>(.*?)</p>', page, re.S)
    assert note and note.group(1) == "Canceled by the user before it started."
    assert re.search(r'<div id="error" class="errors" role="alert" hidden>', page), "no error box for a cancel"
    assert "failed" not in text_of(page, "status")
    assert 'id="rerun"' in page and 'id="cancel"' not in page


def test_a_run_canceled_while_running_says_where_it_stopped_and_not_failed(alice_client, dataset, alice):
    from webapp.runs.tasks import execute_run

    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    Run.objects.filter(pk=run.pk).update(cancel_requested=True)  # the user clicked Cancel as it started
    assert execute_run(run.pk) == "canceled"
    page = alice_client.get(f"/runs/{run.pk}/").content.decode()
    assert text_of(page, "state") == "canceled"
    assert text_of(page, "stage") == "Stopped at: Reading the image list and predictions"
    assert text_of(page, "canceled-note") == "Canceled by the user while running."
    log = text_of(page, "log")
    assert "Canceled: canceled by the user." in log and "Failed" not in log


def test_every_stage_the_engine_can_run_has_words_on_the_page():
    from selection_engine.stages import plan
    from webapp.runs import progress

    assert list(progress.STAGE_WORDS) == list(plan.STAGES)
    assert all(words and share > 0 for words, share in progress.STAGE_WORDS.values())
