"""A cluster that goes away mid-pass: Ray ends the driver process, and the run fails with a
reason naming ray_address (the CLI's or the web worker's process lives on: the driver is its child)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from selection_engine.errors import InputError
from selection_engine.sources import LocalSource
from tests.digits import write_digit_folders

from .conftest import run


class SlowSource(LocalSource):
    """A folder read at 20 files a second per reader: the pass lasts long enough to be cut."""

    def read_bytes(self, relpath: str) -> bytes:
        time.sleep(0.05)
        return super().read_bytes(relpath)


def test_the_cluster_stopped_mid_pass_fails_the_run_with_the_reason(ray_head, tmp_path, monkeypatch):
    from selection_engine.distributed import image_pass

    monkeypatch.setattr(image_pass, "TASK_IMAGES", 32)  # several batches: the stop lands mid-pass
    # Ray's driver gives a lost cluster 60 s before it exits; 5 s here.
    monkeypatch.setenv("RAY_gcs_rpc_server_reconnect_timeout_s", "5")
    folder = tmp_path / "digits"
    write_digit_folders(folder, n=300)
    stopped = []

    def stop_the_cluster(stage, done, total, message):
        if stage == "image_pass" and done >= 1 and not stopped:
            stopped.append(subprocess.run([str(Path(sys.executable).parent / "ray"), "stop", "--force"],
                                          capture_output=True, timeout=120).returncode)

    with pytest.raises(InputError) as raised:
        run(tmp_path / "out", f"input_dir={folder}", "stopping_condition.n_samples=5", f"ray_address={ray_head}",
            on_progress=stop_the_cluster, source=SlowSource(str(folder)))
    assert stopped == [0]
    message = str(raised.value)
    assert message.startswith(f"ray_address: the image pass on the Ray cluster at {ray_head} ")
    assert "before the pass was done" in message or "failed" in message
    assert message in next(tmp_path.rglob("FAILED.txt")).read_text()
