"""The Python client's exports against a real server: a tag and a run's selection as Label Studio
tasks, a COCO images list and a zip of the images written to a file; errors carry the server's word."""

from __future__ import annotations

import json
import zipfile

import pytest

from selection_engine.client import BadRequest, NotFound, WinnowClient
from tests.webapp.test_exports_for_labeling import check_label_studio


def test_the_client_exports_a_tag_and_a_selection_for_labeling(winnow_server, tmp_path):
    client = WinnowClient(winnow_server.url, winnow_server.tokens["alice"])
    dataset_id = client.create_dataset("exports", {"type": "local", "path": str(winnow_server.images)})
    names = sorted(p.relative_to(winnow_server.images).as_posix() for p in winnow_server.images.rglob("*.png"))[:4]
    tag = client.create_tag(dataset_id, "four", filenames=names)

    tasks = json.loads(client.export_tag(dataset_id, tag["id"], "labelstudio"))
    check_label_studio(tasks, names)
    assert [t["data"]["image"] for t in tasks] == [f"/data/local-files/?d={n}" for n in names]
    coco = json.loads(client.export_tag(dataset_id, tag["id"], "coco"))
    assert [i["file_name"] for i in coco["images"]] == names

    written = client.export_tag(dataset_id, tag["id"], "zip", path=tmp_path / "four.zip")
    assert written == tmp_path / "four.zip" and not (tmp_path / "four.zip.part").exists()
    with zipfile.ZipFile(written) as archive:
        assert sorted(archive.namelist()) == names
        assert archive.read(names[0]) == (winnow_server.images / names[0]).read_bytes()
    with pytest.raises(ValueError, match="give path="):
        client.export_tag(dataset_id, tag["id"], "zip")
    with pytest.raises(BadRequest) as bad:
        client.export_tag(dataset_id, tag["id"], "xml")
    assert "file_format" in bad.value.errors

    run_id = client.schedule_compute_worker_run(
        worker_config={"method": "coreset", "stopping_condition": {"n_samples": 3}},
        lightly_config={"collate": {"input_size": 32}, "loader": {"num_workers": 0}},
        dataset_id=dataset_id,
    )
    client.wait_for_run(run_id, timeout=300, poll_interval=0.5)
    by_rank = [row["filenames"] for row in client.download_selection(run_id)]
    tasks = json.loads(client.export_selection(run_id, "labelstudio"))
    check_label_studio(tasks, by_rank)
    assert [t["data"]["rank"] for t in tasks] == [1, 2, 3]
    with zipfile.ZipFile(client.export_selection(run_id, "zip", path=tmp_path / "sel" / "selected.zip")) as archive:
        assert archive.namelist() == by_rank

    with pytest.raises(NotFound):
        WinnowClient(winnow_server.url, winnow_server.tokens["bob"]).export_selection(run_id, "coco")
