"""The fault pass: what a running deployment does when things go wrong mid-run.

Each fault runs against a real ``manage.py serve`` on loopback (``live.py``) and prints what a
user would see, then checks that the deployment recovers (a re-run completes):

- worker killed: SIGKILL to every django-q2 process while a run trains;
- web restarted: SIGTERM to ``serve`` while a run trains, then a new ``serve``;
- datasource removed: the dataset's image folder deleted while a run embeds;
- disk full: the data folder on a 300 MB tmpfs filled to the last byte during a run,
  then pages, an upload and a tag are tried, then the space is freed (needs root for the mount).

    .venv/bin/python benchmarks/faults.py [--database sqlite postgres] [--only worker web datasource disk]

Exit status 1 when a fault leaves something a user would call broken: a run stuck in
"running", a 500, a stop that leaves processes behind, or a deployment that does not recover.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import CORESET, Live, deployment

STALE_SECONDS = 15  # the deployment's WINNOW_STALE_RUN_SECONDS: a dead worker's run fails this soon
TRAINING = {"worker_config": {"enable_training": True, "stopping_condition": {"n_samples": 5}},
            "lightly_config": {"collate": {"input_size": 32}, "trainer": {"max_epochs": 500}, "loader": {"num_workers": 0}}}
problems: list[str] = []


def say(fault: str, outcome: str, ok: bool) -> None:
    print(f"  [{'ok' if ok else 'BROKEN'}] {fault}: {outcome}")
    if not ok:
        problems.append(f"{fault}: {outcome}")


def wait(predicate: Callable[[], object], timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def run_state(live: Live, run: int) -> dict:
    return live.client("alice").get_run(run)


def start_run(live: Live, documents: dict, dataset: int | None = None) -> int:
    return live.client("alice").schedule_compute_worker_run(dataset_id=dataset or live.dataset_ids["alice"], **documents)


def wait_stage(live: Live, run: int, stages: tuple[str, ...], timeout: float = 300) -> dict | None:
    return wait(lambda: (s := run_state(live, run))["stage"] in stages and s["state"] == "running" and s, timeout)


def wait_finished(live: Live, run: int, timeout: float = 300) -> dict:
    finished = wait(lambda: (s := run_state(live, run))["state"] in ("completed", "failed", "canceled") and s, timeout)
    return finished or run_state(live, run)


def processes(live: Live, word: str) -> list[int]:
    found = []
    for pid in live.descendants():
        with contextlib.suppress(OSError):
            if word in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                found.append(pid)
    return found


def recovers(live: Live, fault: str, dataset: int | None = None) -> None:
    """A fresh coreset run completes after the fault."""
    state = wait_finished(live, start_run(live, CORESET, dataset), timeout=300)
    say(fault, f"a new run afterwards: {state['state']} {state['error'][:100]}", state["state"] == "completed")


def restart(live: Live, fault: str) -> None:
    took = live.stop()
    left = live.leftovers()
    say(fault, f"serve stopped in {took:.1f} s, {len(left)} of its processes left behind", not left and took < 15)
    live.kill_session()
    live.start()


def worker_killed(live: Live) -> None:
    fault = "worker killed mid-run"
    run = start_run(live, TRAINING)
    if not wait_stage(live, run, ("training",)):
        return say(fault, f"the run never reached training: {run_state(live, run)}", False)
    for pid in processes(live, "qcluster"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # serve notices its worker is gone and stops everything; a supervisor would start it again
    live.process.wait(timeout=60)
    say(fault, f"serve exited with status {live.process.returncode} once its worker died (1 tells a supervisor to restart it)",
        live.process.returncode == 1)
    live.kill_session()
    live.start()
    state = wait(lambda: (s := run_state(live, run))["state"] != "running" and s, STALE_SECONDS * 4)
    say(fault, f"the run: {state['state'] if state else 'still running'} — {(state or {}).get('error', '')[:140]}",
        bool(state) and state["state"] == "failed" and "stopped responding" in state["error"])
    recovers(live, fault)


def web_restarted(live: Live) -> None:
    fault = "web server restarted mid-run"
    run = start_run(live, TRAINING)
    if not wait_stage(live, run, ("training",)):
        return say(fault, f"the run never reached training: {run_state(live, run)}", False)
    restart(live, fault)
    state = wait(lambda: (s := run_state(live, run))["state"] != "running" and s, STALE_SECONDS * 4)
    say(fault, f"the interrupted run: {state['state'] if state else 'still running'} — {(state or {}).get('error', '')[:140]}",
        bool(state) and state["state"] in ("failed", "canceled") and bool(state["error"]))
    health = requests.get(f"{live.url}/healthz", timeout=10)
    say(fault, f"/healthz after the restart: HTTP {health.status_code}", health.status_code == 200)
    recovers(live, fault)


def datasource_removed(live: Live) -> None:
    fault = "datasource folder removed mid-run"
    folder = live.images.parent / "vanishing"
    shutil.copytree(live.images, folder)
    client = live.client("alice")
    dataset = client.create_dataset("vanishing", {"type": "local", "path": str(folder)})
    first = wait_finished(live, start_run(live, CORESET, dataset))
    run = start_run(live, TRAINING, dataset)
    if not wait_stage(live, run, ("training", "embedding", "checks", "loading")):
        return say(fault, f"the run never started: {run_state(live, run)}", False)
    shutil.rmtree(folder)
    state = wait_finished(live, run, timeout=600)
    say(fault, f"the run: {state['state']} — {state['error'][:160]}",
        state["state"] == "failed" and bool(state["error"]) and not state["error"].startswith("Internal error"))
    session = requests.Session()
    session.headers["Authorization"] = f"Token {live.tokens['alice']}"
    pages = {"samples": session.get(f"{live.url}/api/v1/runs/{first['id']}/samples/", timeout=30).status_code}
    say(fault, f"the earlier run's results afterwards: {pages}", all(code == 200 for code in pages.values()))
    folder.mkdir()
    shutil.copytree(live.images, folder, dirs_exist_ok=True)
    recovers(live, fault, dataset)


def disk_full(live: Live) -> None:
    fault = "data disk full"
    filler = live.data_dir / "filler"
    run = start_run(live, TRAINING)
    wait_stage(live, run, ("training",))
    for size in (1 << 20, 512):  # megabytes, then the last few KiB
        with contextlib.suppress(OSError), open(filler, "ab", buffering=0) as handle:
            while True:
                handle.write(b"\0" * size)
    time.sleep(STALE_SECONDS * 2)  # long enough for missed heartbeats to look like a dead worker
    session = requests.Session()
    session.headers["Authorization"] = f"Token {live.tokens['alice']}"
    dataset = live.dataset_ids["alice"]
    checks = {
        "GET dataset": session.get(f"{live.url}/api/v1/datasets/{dataset}/", timeout=30),
        "POST run": session.post(f"{live.url}/api/v1/runs/", json={"dataset": dataset, **CORESET}, timeout=30),
        "POST tag": session.post(f"{live.url}/api/v1/datasets/{dataset}/tags/", json={"name": "full", "filenames": []},
                                 timeout=30),
        "POST upload": session.post(f"{live.url}/api/v1/datasets/{dataset}/uploads/",
                                    json={"files": {".lightly/metadata/schema.json": []}}, timeout=30),
    }
    for name, response in checks.items():
        say(fault, f"{name} on a full disk: HTTP {response.status_code} {response.text[:120]!r}",
            response.status_code < 500 or response.status_code == 507)
    queued = checks["POST run"].json().get("id") if checks["POST run"].status_code == 201 else None
    filler.unlink()
    # The training run writes nothing until it ends, so it may still be running; a stuck one (its
    # heartbeats could not be written, e.g. SQLite on the full disk) is failed by the sweep now.
    with contextlib.suppress(Exception):
        live.client("alice").cancel_run(run)
    state = wait_finished(live, run, timeout=STALE_SECONDS * 4)
    say(fault, f"the run that was training, once space is back: {state['state']} — {state['error'][:140]}",
        state["state"] in ("failed", "canceled"))
    if queued:
        state = wait_finished(live, queued)
        say(fault, f"the run queued on the full disk, once space is back: {state['state']} {state['error'][:100]}",
            state["state"] in ("completed", "failed"))
    recovers(live, fault)


FAULTS = {"worker": worker_killed, "web": web_restarted, "datasource": datasource_removed, "disk": disk_full}


@contextlib.contextmanager
def small_disk(megabytes: int = 300):
    folder = Path(tempfile.mkdtemp(prefix="winnow-fulldisk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--only", nargs="+", default=list(FAULTS), choices=list(FAULTS))
    args = parser.parse_args()
    for database in args.database:
        print(f"== {database}")
        for name in args.only:
            place = small_disk() if name == "disk" else contextlib.nullcontext(None)
            with place as data_dir, deployment(database, n_images=120, users=("alice",), data_dir=data_dir,
                                                    settings={"WINNOW_STALE_RUN_SECONDS": str(STALE_SECONDS)}) as live:
                FAULTS[name](live)
    print(f"\n{len(problems)} problem(s)")
    for problem in problems:
        print("  -", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
