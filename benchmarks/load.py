"""Concurrent clients against a real deployment on loopback: requests, errors, median and p95.

Starts ``manage.py serve`` (gunicorn, 2 processes x 4 threads, and a django-q2 worker) on a fresh
data folder, on SQLite and on PostgreSQL + Redis, gives two users a dataset of generated images
with predictions and a completed coreset run each, then lets ``--clients`` threads send
``--requests`` requests in all, a mix of what users do: the gallery page, thumbnails, the run
page's status poll, the API's run, samples and selection, a tag written and deleted, and an
attempt at the other user's run (which must be a 404). An error is any other status or a
failed connection.

    .venv/bin/python benchmarks/load.py [--clients 16] [--requests 2000] [--database sqlite postgres]

Latencies include the client's own time on this machine (the clients share its cores with the
server), so they are an upper bound on what a user on another machine would see.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import CORESET, Live, deployment


@dataclass
class User:
    name: str
    token: str
    session: requests.Session  # logged in to the pages
    run: int
    dataset: int
    filenames: list[str]
    other_run: int = 0


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str = "") -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if error:
                self.errors.append(f"{kind}: {error}")


def login(live: Live, name: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{live.url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(f"{live.url}/accounts/login/", data={"username": name, "password": f"{name}-pass-1",
                            "csrfmiddlewaretoken": token}, headers={"Referer": f"{live.url}/accounts/login/"}, timeout=30)
    assert "logout" in response.text.lower(), f"{name} could not log in"
    return session


def prepare(live: Live) -> list[User]:
    users = []
    for name in live.tokens:
        client = live.client(name)
        run = client.schedule_compute_worker_run(dataset_id=live.dataset_ids[name], **CORESET)
        finished = client.wait_for_run(run, timeout=600, progress=False)
        assert finished["state"] == "completed", finished
        filenames = [row["filenames"] for row in client.list_samples(run)]
        users.append(User(name, live.tokens[name], login(live, name), run, live.dataset_ids[name], filenames))
    for user, other in zip(users, users[1:] + users[:1]):
        user.other_run = other.run
    return users


def one_request(live: Live, user: User, rng: random.Random, tally: Tally) -> None:
    """One request of the mix, timed; anything but the expected status is an error."""
    api = {"Authorization": f"Token {user.token}"}
    kind = rng.choices(["gallery", "thumbnail", "status", "api run", "api samples", "api selection", "tag", "other user"],
                       weights=[3, 6, 3, 2, 3, 2, 1, 1])[0]
    expected = 200
    started = time.perf_counter()
    try:
        if kind == "gallery":
            response = user.session.get(f"{live.url}/runs/{user.run}/gallery/", timeout=60)
        elif kind == "thumbnail":
            response = user.session.get(f"{live.url}/datasets/{user.dataset}/thumbnail/",
                                        params={"name": rng.choice(user.filenames)}, timeout=60)
        elif kind == "status":
            response = user.session.get(f"{live.url}/runs/{user.run}/status.json", timeout=60)
        elif kind == "api run":
            response = requests.get(f"{live.url}/api/v1/runs/{user.run}/", headers=api, timeout=60)
        elif kind == "api samples":
            response = requests.get(f"{live.url}/api/v1/runs/{user.run}/samples/", params={"page_size": 100},
                                    headers=api, timeout=60)
        elif kind == "api selection":
            response = requests.get(f"{live.url}/api/v1/runs/{user.run}/selection/", headers=api, timeout=60)
        elif kind == "tag":
            name = f"load-{threading.get_ident()}-{rng.random():.9f}"
            response = requests.post(f"{live.url}/api/v1/datasets/{user.dataset}/tags/", headers=api, timeout=60,
                                     json={"name": name, "filenames": rng.sample(user.filenames, 5)})
            expected = 201
            if response.status_code == expected:
                tag = response.json()["id"]
                response = requests.delete(f"{live.url}/api/v1/datasets/{user.dataset}/tags/{tag}/", headers=api, timeout=60)
                expected = 204
        else:
            response = requests.get(f"{live.url}/api/v1/runs/{user.other_run}/", headers=api, timeout=60)
            expected = 404
        error = "" if response.status_code == expected else f"HTTP {response.status_code}: {response.text[:200]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    tally.add(kind, time.perf_counter() - started, error)


def hammer(live: Live, users: list[User], clients: int, total: int) -> tuple[Tally, float]:
    tally = Tally()

    def client(index: int) -> None:
        rng = random.Random(index)
        for _ in range(total // clients):
            one_request(live, users[index % len(users)], rng, tally)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return tally, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(database: str, clients: int, tally: Tally, seconds: float) -> None:
    every = [s for values in tally.latencies.values() for s in values]
    print(f"\n== {database}: {clients} clients, {len(every)} requests in {seconds:.1f} s "
          f"({len(every) / seconds:.0f}/s), {len(tally.errors)} errors")
    print(f"{'request':<15}{'n':>6}{'median ms':>11}{'p95 ms':>9}")
    for kind, values in sorted(tally.latencies.items()):
        print(f"{kind:<15}{len(values):>6}{statistics.median(values) * 1000:>11.0f}{percentile(values, 0.95) * 1000:>9.0f}")
    print(f"{'all':<15}{len(every):>6}{statistics.median(every) * 1000:>11.0f}{percentile(every, 0.95) * 1000:>9.0f}")
    for error in tally.errors[:10]:
        print("  error:", error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    args = parser.parse_args()
    failed = False
    for database in args.database:
        with deployment(database) as live:
            users = prepare(live)
            tally, seconds = hammer(live, users, args.clients, args.requests)
            report(database, args.clients, tally, seconds)
            server_errors = [line for line in live.log.read_text(errors="replace").splitlines()
                             if any(mark in line for mark in ("[ERROR]", "[CRITICAL]", "[WARNING]", "Traceback"))]
            for line in server_errors[:10]:
                print("  server log:", line)
            failed |= bool(tally.errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
