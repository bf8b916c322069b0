"""The whole flow through WinnowClient against a real server and worker: create a dataset, upload
predictions, schedule a coral run, wait for it, download the selection and an artifact."""

import csv
import io

import pytest

from selection_engine.client import AuthenticationError, BadRequest, NotFound, RunFailed, WinnowClient


def test_the_python_client_drives_a_coral_run_end_to_end(winnow_server, capsys):
    client = WinnowClient(winnow_server.url, winnow_server.tokens["alice"])
    assert client.whoami()["username"] == "alice"

    dataset_id = client.create_dataset("shapes", {"type": "local", "path": str(winnow_server.images)})
    report = client.upload_predictions(dataset_id, winnow_server.predictions)
    assert report["accepted"] and report["summary"].startswith("Accepted")
    tasks = client.get_dataset(dataset_id)["tasks"]
    assert [(t["name"], t["coverage"]) for t in tasks] == [("t", 30)]

    # The config dicts as written for the Lightly worker, passed as they are.
    run_id = client.schedule_compute_worker_run(
        worker_config={
            "enable_corruptness_check": True, "remove_exact_duplicates": True, "enable_training": False,
            "method": "coral", "stopping_condition": {"n_samples": 5, "min_distance": -1},
            "active_learning": {"task_name": "t", "score_name": "uncertainty_entropy"},
        },
        lightly_config={"collate": {"input_size": 32}, "loader": {"num_workers": 0, "batch_size": 16}},
        dataset_id=dataset_id,
    )
    assert client.get_run(run_id)["state"] in ("queued", "running", "completed")
    run = client.wait_for_run(run_id, timeout=300, poll_interval=0.5)
    assert run["state"] == "completed" and run["n_selected"] == 5
    assert "run" in capsys.readouterr().err  # the progress bar

    selection = client.download_selection(run_id)
    assert [row["rank"] for row in selection] == [1, 2, 3, 4, 5]
    assert all(row["filenames"].endswith(".png") for row in selection)
    assert all(0 <= row["t/uncertainty_entropy"] <= 1 for row in selection)

    csv_rows = list(csv.DictReader(io.StringIO(client.download_artifact(run_id, "data/selected_samples.csv").decode())))
    assert [row["filenames"] for row in csv_rows] == [row["filenames"] for row in selection]
    assert any(a["name"] == "report.json" for a in client.list_artifacts(run_id))
    assert client.list_samples(run_id, selected=False)[0]["selected"] is False

    # The run tagged its selection; tags are made and exported through the client too.
    [tag] = client.list_tags(dataset_id)
    assert client.export_tag(dataset_id, tag["id"]).splitlines() == sorted(row["filenames"] for row in selection)
    top = client.create_tag(dataset_id, "top two", filenames=[row["filenames"] for row in selection[:2]])
    assert top["size"] == 2
    client.delete_tag(dataset_id, top["id"])
    assert [t["name"] for t in client.list_tags(dataset_id)] == [tag["name"]]

    # Errors carry the server's message.
    with pytest.raises(BadRequest) as bad:
        client.schedule_compute_worker_run(worker_config={"stoping_condition": {"n_samples": 3}}, dataset_id=dataset_id)
    assert "did you mean stopping_condition.n_samples" in str(bad.value) and "stoping_condition" in bad.value.errors
    with pytest.raises(NotFound):
        WinnowClient(winnow_server.url, winnow_server.tokens["bob"]).get_run(run_id)
    with pytest.raises(AuthenticationError, match="Invalid or revoked token"):
        WinnowClient(winnow_server.url, "wnw_not-a-token").get_run(run_id)

    canceled = client.schedule_compute_worker_run(worker_config={"stopping_condition": {"n_samples": 3}}, dataset_id=dataset_id,
                                                  lightly_config={"collate": {"input_size": 32}, "loader": {"num_workers": 0}})
    client.cancel_run(canceled)
    with pytest.raises(RunFailed, match="canceled"):
        client.wait_for_run(canceled, timeout=120, poll_interval=0.5, progress=False)
