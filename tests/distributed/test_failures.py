"""The image pass when things go wrong: a worker process or the model's actor killed mid-pass (the
run completes, with the same result), a file that kills its decoder every time (the run fails
after Ray's retries, naming ray_address), the source's own error (the run fails with it), a
cancel (the pipeline stops and the cluster serves the next run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from selection_engine.errors import Canceled, InputError
from selection_engine.sources import LocalSource
from tests.digits import write_digit_folders

from .conftest import ROOT, run
from .test_image_pass import assert_same_run

#: The file the sources below act on: one in the middle of the folder's 200 images.
TARGET = "digit-5/middle.png"


class KillingSource(LocalSource):
    """A local folder whose reading of TARGET kills a Ray process: the reading worker's own
    (``victim="self"``) or the model actor's (``"actor"``), once (``marker`` records the pid),
    or every time (``once=False``)."""

    def __init__(self, root: Path, marker: Path, victim: str, once: bool = True):
        super().__init__(str(root))
        self.marker, self.victim, self.once = marker, victim, once

    def read_bytes(self, relpath: str) -> bytes:
        if relpath == TARGET and not (self.once and self.marker.exists()):
            pid = os.getpid() if self.victim == "self" else actor_pid()
            self.marker.write_text(str(pid))
            os.kill(pid, signal.SIGKILL)
        return super().read_bytes(relpath)


class FailingSource(LocalSource):
    """A folder whose store fails on TARGET, as a bucket does when the network drops."""

    def read_bytes(self, relpath: str) -> bytes:
        if relpath == TARGET:
            raise InputError(f"s3://bucket/{relpath}", "cannot be read: the connection was reset")
        return super().read_bytes(relpath)


class BuggySource(LocalSource):
    """A folder whose reader has a bug that shows on TARGET."""

    def read_bytes(self, relpath: str) -> bytes:
        if relpath == TARGET:
            raise ValueError("a bug in a reader")
        return super().read_bytes(relpath)


def actor_pid() -> int:
    """The process of the pass's model actor (Ray titles it after the class it runs)."""
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and command.startswith("ray::") and "Embedder" in command:
            return int(entry.name)
    raise AssertionError("no model actor process found")


@pytest.fixture(autouse=True)
def small_tasks(monkeypatch):
    """32 images per decode task: the 200 images are 7 tasks and 7 batches back to the driver,
    so a kill or a cancel lands mid-pass."""
    from selection_engine.distributed import image_pass

    monkeypatch.setattr(image_pass, "TASK_IMAGES", 32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    write_digit_folders(root, n=200)
    (root / "digit-5" / sorted(p.name for p in (root / "digit-5").iterdir())[0]).rename(root / TARGET)
    return root


@pytest.fixture(scope="module")
def in_process(folder, tmp_path_factory):
    result, _log = run(tmp_path_factory.mktemp("out"), f"input_dir={folder}", "stopping_condition.n_samples=15")
    return result


@pytest.mark.parametrize("victim", ["self", "actor"])
def test_a_ray_process_killed_mid_pass_is_replaced_and_the_run_completes(ray_head, victim, folder, in_process, tmp_path):
    marker = tmp_path / "killed"
    source = KillingSource(folder, marker, victim)
    result, _log = run(tmp_path / "out", f"input_dir={folder}", "stopping_condition.n_samples=15", f"ray_address={ray_head}",
                       source=source)
    assert int(marker.read_text()) > 0, "a process was killed"
    assert_same_run(result, in_process)


def test_a_file_that_kills_its_decoder_every_time_fails_the_run_after_the_retries(ray_head, folder, tmp_path):
    source = KillingSource(folder, tmp_path / "killed", "self", once=False)
    with pytest.raises(InputError, match=rf"^ray_address: the image pass on the Ray cluster at {ray_head} failed: "):
        run(tmp_path / "out", f"input_dir={folder}", "stopping_condition.n_samples=15", f"ray_address={ray_head}", source=source)
    assert f"the image pass on the Ray cluster at {ray_head} failed" in next(tmp_path.rglob("FAILED.txt")).read_text()


def test_an_error_of_the_source_on_a_worker_fails_the_run_with_its_own_message(ray_head, folder, tmp_path):
    with pytest.raises(InputError) as raised:
        run(tmp_path / "out", f"input_dir={folder}", "stopping_condition.n_samples=15", f"ray_address={ray_head}",
            source=FailingSource(str(folder)))
    assert str(raised.value) == f"s3://bucket/{TARGET}: cannot be read: the connection was reset"


def test_a_bug_in_a_task_fails_the_run_with_its_error_named(ray_head, folder, tmp_path):
    with pytest.raises(InputError) as raised:
        run(tmp_path / "out", f"input_dir={folder}", "stopping_condition.n_samples=15", f"ray_address={ray_head}",
            source=BuggySource(str(folder)))
    assert str(raised.value) == f"ray_address: the image pass on the Ray cluster at {ray_head} failed: ValueError: a bug in a reader"


def test_cancel_stops_the_pass_and_the_cluster_serves_the_next_run(ray_head, folder, in_process, tmp_path):
    def cancel(stage, done, total, message):
        if stage == "image_pass" and done >= 1:
            raise Canceled()

    with pytest.raises(Canceled):
        run(tmp_path / "canceled", f"input_dir={folder}", "stopping_condition.n_samples=15", f"ray_address={ray_head}",
            on_progress=cancel)
    assert "canceled" in next((tmp_path / "canceled").rglob("FAILED.txt")).read_text()
    result, _log = run(tmp_path / "next", f"input_dir={folder}", "stopping_condition.n_samples=15", f"ray_address={ray_head}")
    assert_same_run(result, in_process)


def test_ray_is_never_imported_by_a_run_without_a_ray_address(folder, tmp_path):
    script = (
        "import sys\n"
        "from selection_engine import pipeline\n"
        "from selection_engine.config import resolve\n"
        f"pipeline.run(resolve(overrides=['input_dir={folder}', 'output_dir={tmp_path}', 'stopping_condition.n_samples=5']),"
        " show_bars=False)\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
        "print('no ray')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("no ray")
