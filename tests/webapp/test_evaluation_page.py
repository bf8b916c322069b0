"""The evaluation page of a dataset: start an evaluation (labels from the image folders or an
uploaded CSV, checked row by row), follow it, and read its recommendation, table and curves."""

import html
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import write_image
from webapp.evaluations import labels as labels_module
from webapp.evaluations.models import Evaluation
from webapp.evaluations.tasks import execute_evaluation

from .conftest import SMALL_MODEL, make_dataset
from .evaluation_world import SMALL, completed_evaluation, digit_labels, digits  # noqa: F401


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def csv_file(text: str | bytes, name: str = "labels.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, content_type="text/csv")


def start(client, dataset, **changes):
    return client.post(f"/datasets/{dataset.pk}/evaluate/", {**SMALL, **changes})


def user_files(settings) -> list[str]:
    users = settings.DATA_DIR / "users"
    return sorted(p.relative_to(users).as_posix() for p in users.rglob("*") if p.is_file()) if users.exists() else []


def test_the_dataset_page_links_to_the_evaluation_form(alice_client, digits):
    page = page_text(alice_client.get(f"/datasets/{digits.pk}/"))
    assert f'href="/datasets/{digits.pk}/evaluate/"' in page
    assert "Evaluate selection on your labeled data" in page
    form = page_text(alice_client.get(f"/datasets/{digits.pk}/evaluate/"))
    assert "Evaluate selection on your labeled data" in form
    for field in ("labels_source", "labels_csv", "embeddings", "methods", "initial", "per_round", "rounds", "seeds"):
        assert f'name="{field}"' in form, field


def test_an_evaluation_from_the_folders_runs_and_its_page_shows_the_result(alice_client, alice, digits, settings):
    response = start(alice_client, digits)
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/evaluations/{evaluation.pk}/"
    queued = page_text(alice_client.get(response["Location"]))
    assert "queued" in queued and "200 images in 10 classes" in queued
    assert "Recommendation" not in queued

    assert execute_evaluation(evaluation.pk) == "completed", Evaluation.objects.get().error
    evaluation.refresh_from_db()
    summary = evaluation.summary
    page = page_text(alice_client.get(f"/evaluations/{evaluation.pk}/"))
    assert "completed" in page
    # the recommendation sentence, as the engine wrote it
    assert summary["recommendation"]["text"] in page and summary["recommendation"]["text"].startswith(("Use ", "No method"))
    # the methods table: one row per method on the random-weights embeddings, numbers as computed
    table = re.search(r'<section class="card" id="methods">(.*?)</section>', page, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>\s*<td>([^<]*)</td><td>([^<]*)(?:<strong>[^<]*</strong>)?</td>\s*"
                      r'<td class="num">([^<]*)</td><td class="num">([^<]*)</td>\s*<td class="num">([^<]*)</td>'
                      r'<td class="num">([^<]*)</td>', table)
    shown = {method.strip(): (embeddings, accuracy, ahead) for embeddings, method, accuracy, _, _, ahead in rows}
    assert set(shown) == {"random", "coreset", "coral", "cold-start"}
    for row in summary["methods"]:
        assert shown[row["method"]] == ("random weights", f"{row['mean_accuracy']:.3f}", f"{row['rounds_ahead']}/2")
    if summary["recommendation"]["method"] != "random":
        assert "(recommended)" in table
    # the curves: per method a line through the mean accuracy at 10, 20, 30 labels, and its band
    figures = json.loads(re.search(r'<script id="evaluation-plots" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert [f["embeddings"] for f in figures] == ["random weights"]
    traces = figures[0]["figure"]["data"]
    lines = {t["name"]: t for t in traces if t.get("mode") == "lines+markers"}
    bands = [t for t in traces if t.get("fill") == "toself"]
    assert set(lines) == {"random", "coreset", "coral", "cold-start"} and len(bands) == 4
    means = {(r["method"], r["labeled"]): r["mean"] for r in summary["per_round"]}
    for method, trace in lines.items():
        assert trace["x"] == [10, 20, 30]
        assert trace["y"] == pytest.approx([means[(method, n)] for n in (10, 20, 30)])
    assert 'id="plot-1"' in page and "/vendor/plotly.min.js" in page
    # the engine's files, downloadable
    for name in ("accuracy.csv", "accuracy.png", "evaluation.json", "methods.csv"):
        assert f'href="/evaluations/{evaluation.pk}/artifacts/{name}"' in page, name
    methods_csv = alice_client.get(f"/evaluations/{evaluation.pk}/artifacts/methods.csv")
    assert methods_csv.status_code == 200 and b"".join(methods_csv.streaming_content).startswith(b"embeddings,method,")
    status = alice_client.get(f"/evaluations/{evaluation.pk}/status.json").json()
    assert status["state"] == "completed" and status["finished"] and status["recommendation"] == summary["recommendation"]["text"]
    assert status["done"] == status["total"] == 4 * 2 * 3  # methods x seeds x (rounds + the start): the bar moved
    # and the dataset page lists it with its recommendation
    dataset_page = page_text(alice_client.get(f"/datasets/{digits.pk}/"))
    assert f'href="/evaluations/{evaluation.pk}/"' in dataset_page


def test_a_labels_csv_is_stored_in_the_users_folder_and_gives_the_classes(alice_client, alice, digits, digit_labels, settings):
    names = sorted(digit_labels)[:150]
    parity = {name: "even" if int(digit_labels[name][-1]) % 2 == 0 else "odd" for name in names}
    text = "filenames,labels\n" + "".join(f"{name},{label}\n" for name, label in parity.items())
    response = start(alice_client, digits, labels_source="csv", labels_csv=csv_file(text, "parity.csv"))
    assert response.status_code == 302, page_text(response)[-3000:]
    evaluation = Evaluation.objects.get()
    stored = settings.DATA_DIR / "users" / str(alice.pk) / "evaluations" / f"evaluation-{evaluation.pk}" / "labels.csv"
    assert stored.read_text().splitlines() == ["filenames,labels"] + [f"{n},{parity[n]}" for n in names]
    assert "parity.csv: 150 images in 2 classes" in page_text(alice_client.get(f"/evaluations/{evaluation.pk}/"))

    assert execute_evaluation(evaluation.pk) == "completed", Evaluation.objects.get().error
    evaluation.refresh_from_db()
    assert "on 150 labeled samples (2 classes)" in evaluation.log


GOOD = ["digit-0/0000.png,zero", "digit-1/0001.png,one", "digit-2/0002.png,two"]


@pytest.mark.parametrize("content, message", [
    ("filenames,labels\n" + "\n".join(GOOD[:2]) + "\nnope/123.png,one\n",
     "mine.csv: line 4: nope/123.png is not an image of dataset Digits (names are relative to the dataset's folder"),
    ("filenames,labels\n" + GOOD[0] + "\n../../../etc/passwd,zero\n", "mine.csv: line 3: ../../../etc/passwd is not an image of dataset Digits"),
    ("filenames,labels\n" + "\n".join(GOOD[:2]) + "\n" + GOOD[0] + "\n", "mine.csv: line 4: digit-0/0000.png is listed twice (first on line 2)"),
    ("filenames,labels\n" + GOOD[0] + "\ndigit-1/0001.png,\n", "mine.csv: line 3: the label of digit-1/0001.png is empty"),
    ("filenames,labels\n" + GOOD[0] + "\ndigit-1/0001.png,one,extra\n", "mine.csv: line 3: expected 2 fields like the header, found 3"),
    ("name,class\n" + GOOD[0] + "\n", "mine.csv: line 1: the header must name the columns filenames,labels; found name,class"),
    ("filenames,labels\n" + GOOD[0] + "\n\"digit-1/0001.png,one\n", "mine.csv: line 3: expected 2 fields like the header, found 1"),
    (b"filenames,labels\ndigit-0/0000.png,\xff\xfe\n", "mine.csv: not UTF-8 text (byte 34); save the CSV as UTF-8."),
    ("filenames,labels\n", "mine.csv: it lists no images"),
    ("filenames,labels\n" + GOOD[0] + "\ndigit-1/0001.png,o\x00ne\n", "mine.csv: line 3: the label of digit-1/0001.png contains a control character"),
    ("filenames,labels\n" + GOOD[0] + '\ndigit-1/0001.png,"o\nne"\n', "mine.csv: line 4: the label of digit-1/0001.png contains a control character"),
    # refused before the csv module splits it: 20 MB of commas would be millions of fields in memory
    ("filenames,labels" + "," * 20_000 + "\n" + GOOD[0] + "\n", "mine.csv: line 1: longer than 16384 characters"),
    ("filenames,labels\n" + GOOD[0] + "\ndigit-1/0001.png," + "x," * 10_000 + "\n", "mine.csv: line 3: longer than 16384 characters"),
    ("filenames,labels\n" + "\n".join(GOOD[:2]).replace("one", "zero") + "\n", "All 2 labeled images have the same label (zero)"),
    ("filenames,labels\n" + "\n".join(GOOD) + "\n", "3 classes have a single labeled image ("),
])
def test_a_bad_labels_csv_is_refused_naming_the_line(alice_client, digits, settings, content, message):
    response = start(alice_client, digits, labels_source="csv", labels_csv=csv_file(content, "mine.csv"))
    assert response.status_code == 200
    page = page_text(response)
    assert message in page, re.findall(r'<p class="error">(.*?)</p>', page)
    assert Evaluation.objects.count() == 0
    assert user_files(settings) == []


def test_a_labels_csv_over_the_size_limit_is_refused_unread(alice_client, digits, monkeypatch):
    monkeypatch.setattr(labels_module, "MAX_LABELS_BYTES", 1024)
    content = "filenames,labels\n" + "digit-0/0000.png,zero\n" * 100
    page = page_text(start(alice_client, digits, labels_source="csv", labels_csv=csv_file(content, "big.csv")))
    assert "big.csv: 2.2 KB is over the limit of 1.0 KB for a labels CSV." in page
    assert Evaluation.objects.count() == 0


def test_a_labels_csv_is_required_when_chosen(alice_client, digits):
    page = page_text(start(alice_client, digits, labels_source="csv"))
    assert "Choose a CSV file of filenames,labels." in page
    assert Evaluation.objects.count() == 0


@pytest.mark.parametrize("field, value, message", [
    ("seeds", "11", "Ensure this value is less than or equal to 10."),
    ("rounds", "21", "Ensure this value is less than or equal to 20."),
    ("per_round", "1001", "Ensure this value is less than or equal to 1000."),
    ("initial", "0", "Ensure this value is greater than or equal to 1."),
    ("initial", "1e9", "Enter a whole number."),
    ("input_size", "4096", "Ensure this value is less than or equal to 1024."),
    ("methods", "everything", "Select a valid choice. everything is not one of the available choices."),
    ("methods", [], "Choose at least one method to measure against random labeling."),
    ("embeddings", "../../../etc/passwd", "Select a valid choice. ../../../etc/passwd is not one of the available choices."),
    ("labels_source", "/etc", "Select a valid choice. /etc is not one of the available choices."),
])
def test_the_protocol_and_choices_are_bounded(alice_client, digits, field, value, message):
    response = start(alice_client, digits, **{field: value})
    assert response.status_code == 200
    assert message in page_text(response)
    assert Evaluation.objects.count() == 0


def test_a_protocol_needing_more_labels_than_the_data_holds_is_refused(alice_client, digits):
    page = page_text(start(alice_client, digits, initial="100", per_round="50", rounds="2"))
    assert ("100 initial + 2 rounds of 50 labels need 200 samples outside the test split, but only 140 of the 200 "
            "labeled samples are; use fewer or smaller rounds.") in page
    assert Evaluation.objects.count() == 0


def test_images_outside_class_folders_need_a_labels_csv(alice_client, alice, root):
    for i in range(12):
        write_image(root / "flat" / f"{i:03d}.png", seed=i, size=(16, 16))
    dataset = make_dataset(alice, root / "flat", name="Flat")
    page = page_text(start(alice_client, dataset))
    assert "The images are not in one folder per class" in page and "upload a labels CSV instead" in page
    assert Evaluation.objects.count() == 0


def test_a_runs_embeddings_are_compared_with_random_weights(alice_client, alice, digits):
    from webapp.runs.services import schedule_run
    from webapp.runs.tasks import execute_run

    run = schedule_run(alice, digits, worker_config={"method": "coreset", "stopping_condition": {"n_samples": 10}}, lightly_config=SMALL_MODEL)
    assert execute_run(run.pk) == "completed"
    form = page_text(alice_client.get(f"/datasets/{digits.pk}/evaluate/"))
    choice = f"runs/run-{run.pk}/data/embeddings.csv"
    assert f'value="{choice}"' in form and f"Embeddings CSV of run {run.pk}" in form

    response = start(alice_client, digits, embeddings=choice, methods=["coreset"])
    assert response.status_code == 302, page_text(response)[-3000:]
    evaluation = Evaluation.objects.get()
    assert evaluation.embeddings == ["random", choice] and evaluation.methods == ["random", "coreset"]
    assert execute_evaluation(evaluation.pk) == "completed", Evaluation.objects.get().error
    page = page_text(alice_client.get(f"/evaluations/{evaluation.pk}/"))
    figures = json.loads(re.search(r'<script id="evaluation-plots" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert [f["embeddings"] for f in figures] == ["random weights", "embeddings.csv"]
    assert 'id="plot-2"' in page
    assert page.count("<td>embeddings.csv</td>") == 2 and page.count("<td>random weights</td>") == 2
