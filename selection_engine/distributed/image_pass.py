"""The image pass: a run's per-image work as one Ray Data pipeline (``ray_address``).

In process, a run reads each image three times: the corruptness check decodes it in full (and
measures the computed metadata on that decode), the duplicates check hashes its bytes, and the
embedding stage decodes it again for the model. Here each image is read once, on a cluster
worker, and everything comes out of that read:

- **decode/check tasks** (one CPU each, :func:`inspect_batch`): read the file from the source
  (a local folder every node mounts at the same path, or a bucket the workers read directly),
  hash its bytes (exact duplicates), decode it in full (the corruptness check, with the same
  reasons as in process), measure sharpness, noise and size on that decode and, when the pass
  embeds, take the model's uint8 input from it (``model_input_of_decoded``);
- **the model** in an actor pool (:class:`Embedder`): one actor per GPU of the cluster, or
  without GPUs one per two CPUs (each on one core, the other half left to the decode tasks);
  each loads the model once and turns input batches into features;
- **the driver**, a child process of the run's (:func:`_drive`), streams the results into Arrow
  shards under the run directory; the run's process follows it, then memory-maps the shards and
  decides as the in-process stages decide: corrupt files, exact duplicates (the first in sorted
  order is kept), the computed metadata and, for a model whose projection is not learned, the PCA
  projection fitted to the same sample of images (``projection.py``). Scoring, selection and the
  outputs then run there as for any run.

The results equal the in-process stages': the same corrupt and duplicate lists and metadata, and
embeddings equal up to float rounding (the same pixels go through the same model).

Failures: a decode task is retried up to three times and an actor restarted up to three times
(Ray's own retries), so a run survives the loss of a worker process or node; an error of the
user's (an unreadable bucket) fails the run with its own message, and a cluster that is gone
fails it with an error naming ``ray_address``. Cancel works as for any run: the progress call
raises, and the run's process stops the driver (Ray then drops the driver's tasks and actors).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import pickle
import re
import shutil
import signal
import socket
import sys
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from ..config import RunConfig
from ..embedding.inference import INFERENCE_BATCH, device_for, model_input_of_decoded, prepare_model, run_model
from ..embedding.model import EmbeddingModel
from ..embedding.projection import PooledTrunk, fit_sample, reduce_features
from ..embedding.stage import Embedded, fit_to_images, keep_embeddings, starting_model
from ..errors import ConfigError, InputError, WinnowError
from ..progress import Reporter
from ..sources import Source
from ..stages.checks import data_hash, drop_corrupt, drop_duplicates, first_copies, inspect_data, unreadable_file
from ..stages.image_metadata import COMPUTED_FIELDS, Measures
from ..stages.plan import pass_embeds
from ..stages.rundir import RunDirectory
from ..stages.samples import Samples

#: Images per decode task: enough to amortise a task's start, few enough to spread a small dataset.
TASK_IMAGES = 256
#: Rows per Arrow shard the driver writes (and memory-maps back).
SHARD_ROWS = 65_536
#: Ray's retries: a decode task is run again, an actor restarted, this many times before the run fails.
RETRIES = 3
#: Seconds to wait for a cluster's head to answer, and then for the cluster to accept the driver
#: (starting a local Ray included), before the run fails naming ray_address.
CONNECT_TIMEOUT = 10.0
ACCEPT_TIMEOUT = 120.0


@dataclass
class PassResult:
    #: the computed metadata of every image that is not corrupt (as ``remove_corrupt`` returns it)
    measured: dict[str, Measures]
    #: the embedding stage's outcome when the pass embedded, else None
    embedded: Embedded | None


def image_pass(
    config: RunConfig, source: Source, samples: Samples, run_dir: RunDirectory, reporter: Reporter, *, actors: int = 0
) -> PassResult:
    """The pass over ``samples.filenames``: drops corrupt files and (with
    ``remove_exact_duplicates``) exact duplicates from ``samples``, as the in-process stages do,
    and, when the pass embeds (``plan.pass_embeds``), sets ``samples.table``. ``actors``: the
    model's actor pool size (0: one per GPU, else one per two CPUs of the cluster).

    The Ray driver is a child process of this one (:func:`_drive`): Ray ends a driver whose
    cluster is gone by exiting its process, and that must not be the CLI's or the web worker's
    process, which then fails the run with the reason. This process follows the child's
    progress (and the run's cancel) through a pipe, then reads its shards and decides.
    """
    worker, lightly = config.worker, config.lightly
    _check_reachable(worker.ray_address)
    names = list(samples.filenames)
    model: EmbeddingModel | None = None
    if pass_embeds(worker):
        model, _head, starting_weights = starting_model(config, reporter)
        reporter.log(f"Embedding images with {lightly.model.name} ({starting_weights}).")
    shards = Shards(run_dir.path / "data/image_pass")
    job = PassJob(worker.ray_address, source, names, model, lightly.collate.input_size, actors,
                  lightly.trainer.gpus > 0, str(shards.folder), TASK_IMAGES)
    try:
        done = _follow(job, reporter)
        return _decide(config, names, shards, samples, model, done.efficiency, done.gpus, reporter)
    finally:
        shards.remove()


@dataclass
class PassJob:
    """What the driver process needs (pickled to it)."""

    address: str
    source: Source
    names: list[str]
    model: EmbeddingModel | None
    input_size: int
    actors: int
    gpus_allowed: bool
    folder: str
    task_images: int = TASK_IMAGES


@dataclass
class PassDone:
    """The driver's last message: the share of the time the model actors were busy, and the GPUs used."""

    efficiency: float
    gpus: int


def _follow(job: PassJob, reporter: Reporter) -> PassDone:
    """Run :func:`_drive` in a child process and follow it: its log lines and progress go to
    ``reporter`` (whose progress call raises Canceled on a cancel: the child is then stopped),
    its engine errors are raised here, and its death is an error naming ray_address."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads, no inherited Ray
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_drive, args=(sender, job), name="winnow-ray-driver", daemon=True)
    child.start()
    sender.close()
    started = time.monotonic()
    batches = math.ceil(len(job.names) / job.task_images)
    outcome: dict[str, Any] = {}
    seen = {"read": 0, "corrupt": 0}

    def messages() -> Iterator[None]:
        """One item per batch of results the driver wrote; log lines and the end handled on the way."""
        while True:
            if not receiver.poll(0.5):
                if not child.is_alive():
                    return
                if "connected" not in outcome and time.monotonic() - started > ACCEPT_TIMEOUT:
                    raise ConfigError("ray_address", f"the Ray cluster at {job.address} did not accept this driver within "
                                                     f"{ACCEPT_TIMEOUT:.0f} s (a cluster with token authentication needs "
                                                     "the same RAY_AUTH_TOKEN here as on its nodes)")
                continue
            try:
                kind, value = receiver.recv()
            except EOFError:  # the driver exited mid-message
                return
            if kind == "log":
                reporter.log(value)
            elif kind == "connected":
                outcome["connected"] = True
            elif kind == "batch":
                seen["read"] += value[0]
                seen["corrupt"] += value[1]
                yield None
            elif kind == "error":
                raise pickle.loads(value)  # the engine's own error, raised in the driver
            elif kind == "crash":
                raise RuntimeError(f"the image pass's Ray driver failed: {value}")
            elif kind == "done":
                outcome["done"] = value
                return

    try:
        for _ in reporter.track(messages(), batches, "Image pass",
                                lambda: f"Images read: {seen['read']:,} of {len(job.names):,} (corrupt: {seen['corrupt']:,})"):
            pass
    finally:
        if child.is_alive() and "done" not in outcome:
            child.terminate()  # cancel, or an error here: the driver stops and Ray drops its work
        child.join(timeout=30)
        receiver.close()
    if "done" not in outcome:
        raise InputError("ray_address", f"the image pass on the Ray cluster at {job.address} stopped: its Ray driver "
                                        f"process exited (code {child.exitcode}) before the pass was done, e.g. the "
                                        "cluster was lost; the log above has Ray's own words")
    done: PassDone = outcome["done"]
    return done


def _drive(sender: Any, job: PassJob) -> None:
    """The Ray driver, in its own process: connect, run the pipeline, write the shards into
    ``job.folder``, and tell the parent as it goes (messages: ``log``, ``connected``, ``batch``
    (rows, corrupt rows), ``error`` (a pickled engine error), ``crash`` (a bug's summary),
    ``done`` (a :class:`PassDone`))."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped by the parent: leave through ray.shutdown
    try:
        with ray_cluster(job.address) as ray:
            sender.send(("connected", None))
            ray.data.DataContext.get_current().enable_progress_bars = False  # the parent's bar reports the pass
            logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # its errors come back as exceptions
            resources = ray.cluster_resources()
            gpus = int(resources.get("GPU", 0)) if job.gpus_allowed else 0
            cpus = max(1, int(resources.get("CPU", 1)))
            pool = job.actors or (gpus if gpus else max(1, cpus // 2))
            where = (f"{pool} model actor{'s' if pool != 1 else ''} on {'GPUs' if gpus else 'CPUs'}"
                     if job.model is not None else "no model")
            line = (f"Image pass on the Ray cluster at {job.address} ({cpus} CPUs, {gpus} GPUs; {where}): "
                    "each image is read and decoded once for the checks, the metadata and the embedding.")
            sender.send(("log", line))
            dataset = _pipeline(ray, job, pool, gpus > 0, cpus)
            began = time.perf_counter()
            model_seconds = _gather(dataset, Shards(Path(job.folder)), sender, job)
            efficiency = model_seconds / pool / max(time.perf_counter() - began, 1e-9)
        sender.send(("done", PassDone(efficiency, gpus)))
    except WinnowError as exc:
        sender.send(("error", pickle.dumps(exc)))
    except Exception as exc:  # a bug: its traceback goes to this process's stderr (the worker log)
        sender.send(("crash", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        sender.close()


def _pipeline(ray: Any, job: PassJob, actors: int, on_gpus: bool, cpus: int) -> Any:
    """The Ray Data dataset of the pass: decode/check tasks, then (with a model) the actor pool.

    On CPUs each actor asks for one CPU, or for a share when the pool would otherwise take every
    CPU of the cluster (the decode tasks that feed it need one at least)."""
    actor_cpus = 0.0 if on_gpus else min(1.0, max(cpus - 1, 1) / actors)
    names, model, size = job.names, job.model, job.task_images
    table = pa.table({"index": pa.array(np.arange(len(names), dtype=np.int64)), "name": pa.array(names, pa.string())})
    blocks = [table.slice(start, size) for start in range(0, len(names), size)]
    with warnings.catch_warnings():
        # Ray Data's defaults retry a lost task and restart a lost actor without limit, and it
        # takes bounded counts only as "ray_remote_args", which Ray 2.60 warns will change
        # (Winnow pins 2.60). Bounded, so that an image that crashes its decoder fails the run.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        dataset = ray.data.from_arrow(blocks).map_batches(
            inspect_batch, batch_size=None, batch_format="numpy", zero_copy_batch=True,
            fn_kwargs={"source": job.source, "input_size": job.input_size if model is not None else 0},
            num_cpus=1, max_retries=RETRIES,
        )
        if model is not None:
            dataset = dataset.map_batches(
                Embedder, batch_size=INFERENCE_BATCH, batch_format="numpy",
                fn_constructor_kwargs={"model": model, "on_gpu": on_gpus},
                compute=ray.data.ActorPoolStrategy(size=actors),
                num_gpus=1 if on_gpus else 0, num_cpus=actor_cpus,
                max_restarts=RETRIES, max_task_retries=RETRIES,
            )
    return dataset


def inspect_batch(batch: dict[str, np.ndarray], source: Source, input_size: int) -> dict[str, np.ndarray]:
    """A decode/check task: for each (index, name) of ``batch``, read the file once and give its
    problem ("" when none), content hash, computed metadata and, with ``input_size``, the
    model's uint8 input (3, input_size, input_size; black for a corrupt file).

    An error of the source (a bucket that stops answering) comes back as data, the pickled
    error in every row's ``error``: Ray Data hands the driver a task's exception only as text,
    and the run must fail with the engine's own error and message."""
    names = [str(name) for name in batch["name"]]
    n = len(names)
    problems, hashes, errors = [""] * n, [""] * n, [b""] * n
    measures = np.zeros((n, len(COMPUTED_FIELDS)), dtype=np.float64)
    pixels = np.zeros((n, 3, input_size, input_size), dtype=np.uint8) if input_size else None

    def read(name: str) -> bytes | OSError:
        try:
            return source.read_bytes(name)
        except InputError:
            raise  # the source itself failed (network, permissions): the run's error, not the image's
        except OSError as exc:
            return exc

    try:
        with ThreadPoolExecutor(max(1, source.io_threads)) as readers:  # a bucket is read many files at a time
            for row, (name, data) in enumerate(zip(names, readers.map(read, names))):
                if isinstance(data, OSError):
                    problems[row] = unreadable_file(data)
                    continue
                hashes[row] = data_hash(data)

                def model_input(image: Any, name: str = name, data: bytes = data) -> torch.Tensor:
                    return model_input_of_decoded(image, name, data, input_size)

                inspected = inspect_data(data, name, keep=model_input if pixels is not None else None)
                if inspected.problem is not None:
                    problems[row] = inspected.problem
                    continue
                assert inspected.measured is not None, "an image without a problem is measured"
                measures[row] = inspected.measured
                if pixels is not None:
                    pixels[row] = inspected.kept.numpy()
    except WinnowError as exc:
        errors = [pickle.dumps(exc)] * n
    result = {"index": batch["index"], "problem": np.array(problems, dtype=object),
              "hash": np.array(hashes, dtype=object), "measures": measures, "error": np.array(errors, dtype=object)}
    if pixels is not None:
        result["pixels"] = pixels
    return result


class Embedder:
    """The model in a Ray actor: uint8 input batches → ``features`` float32 (B, C), the model's
    embeddings when its projection is learned, else its trunk's pooled features (the driver
    fits the projection to them), and ``model_seconds`` (the batch's model time, per row)."""

    def __init__(self, model: EmbeddingModel, on_gpu: bool):
        self.device = device_for(1) if on_gpu else torch.device("cpu")
        if self.device.type == "cpu":
            torch.set_num_threads(1)  # the actor holds one CPU
        net: torch.nn.Module = model if model.projection_learned else PooledTrunk(model)
        self.model = prepare_model(net, self.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        pixels = batch.pop("pixels")
        began = time.perf_counter()
        features = run_model(self.model, torch.from_numpy(np.ascontiguousarray(pixels)), self.device)
        batch["features"] = features
        batch["model_seconds"] = np.full(len(pixels), (time.perf_counter() - began) / max(len(pixels), 1))
        return batch


class Shards:
    """The pass's results as Arrow IPC files of up to :data:`SHARD_ROWS` rows in ``folder``,
    written as batches arrive and memory-mapped back (the features of millions of images need
    not fit in memory)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.paths: list[Path] = []
        self._writer: Any = None
        self._rows = 0
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, batch: dict[str, np.ndarray]) -> None:
        columns = {
            "index": pa.array(batch["index"], pa.int64()),
            "problem": pa.array(list(batch["problem"]), pa.string()),
            "hash": pa.array(list(batch["hash"]), pa.string()),
            "measures": _fixed_rows(batch["measures"].astype(np.float64)),
        }
        if "features" in batch:
            columns["features"] = _fixed_rows(batch["features"].astype(np.float32))
        record = pa.RecordBatch.from_pydict(columns)
        if self._writer is None or self._rows >= SHARD_ROWS:
            self.close()
            self.paths.append(self.folder / f"shard-{len(self.paths):05d}.arrow")
            self._writer = pa.ipc.new_file(str(self.paths[-1]), record.schema)
            self._rows = 0
        self._writer.write_batch(record)
        self._rows += record.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def tables(self) -> Iterator[pa.Table]:
        """Each shard in the folder (written by this object or another process's), memory-mapped."""
        for path in sorted(self.folder.glob("shard-*.arrow")):
            yield pa.ipc.open_file(pa.memory_map(str(path))).read_all()

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _fixed_rows(values: np.ndarray) -> pa.FixedSizeListArray:
    """A 2-D array (N, D) as an Arrow column of N lists of D values."""
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])


def _rows(column: Any) -> np.ndarray:
    """A fixed-size-list column (chunked) back as a 2-D array (N, D)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = column.type.list_size
    return np.asarray(column.flatten().to_numpy(zero_copy_only=False)).reshape(-1, width)


def _gather(dataset: Any, shards: Shards, sender: Any, job: PassJob) -> float:
    """Stream the pass's results into ``shards``, telling the parent of each batch; the model's
    busy seconds in all."""
    import ray

    model_seconds = 0.0
    batches = dataset.iter_batches(batch_size=job.task_images, batch_format="numpy", prefetch_batches=2)
    try:
        for batch in batches:
            failed = next((error for error in batch["error"] if error), None)
            if failed is not None:
                raise pickle.loads(failed)  # the source's own error, from a decode task (inspect_batch)
            shards.write(batch)
            sender.send(("batch", (len(batch["index"]), sum(1 for problem in batch["problem"] if problem))))
            if "model_seconds" in batch:
                model_seconds += float(batch["model_seconds"].sum())
    except ray.exceptions.RayError as exc:
        raise _run_error(exc, job.address) from None
    finally:
        shards.close()
    return model_seconds


def _run_error(exc: BaseException, address: str) -> InputError:
    """The error of a pass Ray gave up on (a task or actor that kept dying, e.g. on a file that
    crashes its decoder; a lost node; a bug in a task), naming ray_address. Ray hands the driver
    a task's error as text only; the reason given is its most specific line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # Ray colours its process names
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)
              and not line.startswith("ray.exceptions.UserCodeException")]
    reason = errors[-1] if errors else lines[0] if lines else type(exc).__name__
    return InputError("ray_address", f"the image pass on the Ray cluster at {address} failed: {reason}")


def _decide(config: RunConfig, names: list[str], shards: Shards, samples: Samples, model: EmbeddingModel | None,
            efficiency: float, gpus: int, reporter: Reporter) -> PassResult:
    """Read the shards back and apply the in-process stages' rules to them."""
    worker = config.worker
    n = len(names)
    problem = np.empty(n, dtype=object)
    digest = np.empty(n, dtype=object)
    measures = np.zeros((n, len(COMPUTED_FIELDS)), dtype=np.float64)
    shard_of = np.full(n, -1, dtype=np.int64)  # which shard, and which row in it, holds each image
    row_of = np.full(n, -1, dtype=np.int64)
    for k, table in enumerate(shards.tables()):
        index = table.column("index").to_numpy()
        problem[index] = table.column("problem").to_pylist()
        digest[index] = table.column("hash").to_pylist()
        measures[index] = _rows(table.column("measures"))
        shard_of[index], row_of[index] = k, np.arange(len(index))
    assert (shard_of >= 0).all(), "the pass gave one row for every image"
    corrupt = {names[i]: str(problem[i]) for i in range(n) if problem[i]}
    drop_corrupt(samples, corrupt, reporter)
    measured = {names[i]: _measures(measures[i]) for i in range(n) if not problem[i]}
    position = {name: i for i, name in enumerate(names)}
    if worker.remove_exact_duplicates:
        ordered = sorted(samples.filenames)
        drop_duplicates(samples, first_copies((name, str(digest[position[name]])) for name in ordered), reporter)
    if model is None:
        return PassResult(measured, None)
    kept = np.array([position[name] for name in samples.filenames], dtype=np.int64)
    embeddings = _embeddings(model, shards, shard_of[kept], row_of[kept], worker.seed, reporter)
    # The selection runs here, on this machine's GPU where it has one (stages.pick.selection_device).
    here = device_for(config.lightly.trainer.gpus)
    outcome = Embedded(device=f"{here} (embedded on the Ray cluster's {f'{gpus} GPUs' if gpus else 'CPUs'})")
    keep_embeddings(samples, embeddings, efficiency, outcome, reporter, {})
    return PassResult(measured, outcome)


def _measures(row: np.ndarray) -> Measures:
    sharpness, snr, size, width, height = row.tolist()
    return sharpness, snr, int(size), int(width), int(height)


def _embeddings(model: EmbeddingModel, shards: Shards, shard: np.ndarray, row: np.ndarray, seed: int,
                reporter: Reporter) -> np.ndarray:
    """The embeddings float32 (N, num_ftrs) of the images at (``shard``, ``row``), in that order:
    the features themselves when the model's projection is learned, else the projection fitted
    to the fit sample of these images applied to their features, as ``compute_embeddings`` does."""
    tables = list(shards.tables())

    def features(shard: np.ndarray, row: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(positions, features) of the images at (shard, row), one shard at a time."""
        for k, table in enumerate(tables):
            where = np.flatnonzero(shard == k)
            if len(where):
                yield where, _rows(table.column("features"))[row[where]]

    n = len(shard)
    if model.projection_learned:
        out = np.zeros((n, model.reduce.out_channels), dtype=np.float32)
        for where, values in features(shard, row):
            out[where] = values
        return out
    sample = fit_sample(n, seed)
    fitted = np.zeros((len(sample), model.reduce.in_channels), dtype=np.float32)
    for where, values in features(shard[sample], row[sample]):
        fitted[where] = values
    projection = fit_to_images(model, fitted, n, False, reporter)
    out = np.zeros((n, model.reduce.out_channels), dtype=np.float32)
    for where, values in features(shard, row):
        out[where] = projection.apply(values) if projection is not None else reduce_features(model, values)
    return out


@contextmanager
def ray_cluster(address: str) -> Iterator[Any]:
    """The ``ray`` module, connected to the cluster at ``address`` ("local" starts one on this
    machine, for this process alone) for the duration. A ConfigError naming ray_address when the
    cluster does not answer."""
    import ray
    import ray.data

    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 ignore_reinit_error=True)
    except Exception as exc:  # ConnectionError, RuntimeError, ValueError: Ray's words say which
        raise ConfigError("ray_address", f"cannot connect to a Ray cluster at {address}: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail at once, naming ray_address, when a head given as host:port does not accept a
    connection (Ray itself would retry for minutes)."""
    if address in ("local", "auto"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except (OSError, ValueError) as exc:
        raise ConfigError("ray_address", f"no Ray cluster answers at {address}: {exc}") from None
