"""One run of the engine, stage by stage (SPEC §4).

``run(config)`` lists the datasource, checks files, gets embeddings, selects, and writes the run
directory. With ``ray_address`` the checks and the embeddings are one pass on a Ray cluster
(``distributed/image_pass.py``); the rest runs here either way.
Progress goes to a callback ``(stage, done, total, message)`` and to timestamped log
lines; a failure leaves ``FAILED.txt`` with the reason in the run directory and re-raises.

The stages themselves live in ``stages/`` (load, corruptness, duplicates, scores, metadata,
selection, outputs), ``embedding/stage.py`` (embeddings, training) and ``report/``; each takes
the few values it needs and returns what later stages read. ``_run`` calls them in order, names
each for the progress callback (``reporter.set_stage``) and times it (``timer.stage``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import RunConfig
from .config.paths import path_of
from .config.tasks import check_task_inputs
from .errors import Canceled, ConfigError, InputError, WinnowError
from .fileio import atomic_write
from .progress import LogStream, ProgressCallback, Reporter, StageTimer
from .report import ReportInputs, report_facts, write_report
from .report.facts import job_end, run_report
from .selection import SelectionData
from .sources import Source, source_for_input_dir
from .stages.checks import remove_corrupt, remove_duplicates
from .stages.datapool import load_datapool, save_run
from .stages.image_metadata import Measures, metadata_table
from .stages.inputs import score_samples, similarity_queries
from .stages.load import load_inputs
from .stages.outputs import dump_images, store_embeddings, write_selection
from .stages.pick import earlier_picks, not_candidate_reasons, pick, selection_device
from .stages.plan import pass_embeds, planned_stages
from .stages.rundir import RunDirectory

if TYPE_CHECKING:
    from .embedding.stage import Embedded


@dataclass
class RunResult:
    run_dir: Path
    selected: list[str]
    report: dict[str, Any]


def run(
    config: RunConfig,
    on_progress: ProgressCallback | None = None,
    show_bars: bool = True,
    stream: LogStream | None = None,
    source: Source | None = None,
) -> RunResult:
    """Execute one run; returns where its outputs are and what was selected."""
    reporter = Reporter(on_progress, show_bars=show_bars, stream=stream)
    if not config.output_dir:
        raise ConfigError("output_dir", "is required: the folder where run directories are created")
    if source is None and config.input_dir:
        source = source_for_input_dir(config.input_dir)
    if source is None and not config.worker.embeddings:
        raise ConfigError("input_dir", "is required unless embeddings=FILE gives the samples")
    run_dir = RunDirectory.create(config.output_dir, config.worker.run_directory)
    with open(run_dir / "log.txt", "w", encoding="utf-8") as logfile:
        reporter.attach_logfile(logfile)
        try:
            return _run(config, source, run_dir, reporter)
        except WinnowError as exc:
            reporter.log(f"Canceled: {exc}." if isinstance(exc, Canceled) else f"Failed: {exc}")
            run_dir.mark_failed(str(exc))
            raise
        except Exception as exc:
            reporter.log(f"Failed with an internal error: {type(exc).__name__}: {exc}")
            run_dir.mark_failed(f"internal error: {type(exc).__name__}: {exc}")
            raise


def _run(config: RunConfig, source: Source | None, run_dir: RunDirectory, reporter: Reporter) -> RunResult:
    """The stages of :func:`run`, in order, writing into ``run_dir``."""
    worker = config.worker
    timer = StageTimer()
    started = datetime.now()
    run_dir.write_json("config/config.json", config.to_dict())
    for key in ("pretagging", "pretagging_debug", "upload_dataset"):
        if getattr(worker, key):
            reporter.log(f"Warning: {key}=True is not supported by Winnow (it runs offline); ignoring it.")
    if worker.enable_training and source is None:
        raise ConfigError("input_dir", "is required for enable_training: the images are read from there")

    plan = planned_stages(worker, reads_images=source is not None)
    reporter.set_stage("load")
    with timer.stage("load"):
        loaded = load_inputs(worker, config.shared_dir, source, reporter)
        check_task_inputs(config.selection, loaded.task_types(), legacy=not config.explicit_selection)
    samples = loaded.samples
    files_seen = len(samples.filenames)
    measured: dict[str, Measures] = {}  # computed metadata, taken during the corruptness check
    embedded: Embedded | None = None
    if "image_pass" in plan:
        assert source is not None, "the plan has an image pass only when the run reads images"
        from .distributed import run_image_pass  # Ray loads only for runs given a ray_address

        work = "Checking, measuring and embedding" if pass_embeds(worker) else "Checking and measuring"
        reporter.set_stage("image_pass", f"{work} the images on the Ray cluster.")
        with timer.stage("image_pass"):
            passed = run_image_pass(config, source, samples, run_dir, reporter)
        measured, embedded = passed.measured, passed.embedded
    if "corruptness" in plan:
        assert source is not None, "the plan checks images only when the run reads them"
        reporter.set_stage("corruptness", "Checking for corrupt images.")
        reporter.log("(enable_corruptness_check=False skips this check.)")
        with timer.stage("corruptness"):
            measured = remove_corrupt(source, samples, reporter)
    if "duplicates" in plan:
        reporter.set_stage("duplicates", "Looking for exact duplicates.")
        reporter.log("(remove_exact_duplicates=False skips this step.)")
        with timer.stage("duplicates"):
            remove_duplicates(source, samples, reporter)
    if not samples.filenames:
        raise InputError(source.label if source else worker.embeddings, "no usable images are left to select from")

    from .embedding.stage import embed_stage  # torch loads only for runs that need a model

    if embedded is None:
        embedded = embed_stage(config, source, samples, run_dir, reporter, timer)
    assert samples.table is not None, "the embedding stage (or the embeddings file) gave the samples' table"
    table = store_embeddings(run_dir, samples.table, worker.normalize_embeddings, reporter)

    reporter.set_stage("scores")
    with timer.stage("scores"):
        scores, class_counts = score_samples(
            table, config.selection, worker.embeddings, loaded.predictions, worker.scorer_config, run_dir, reporter
        )
        data = SelectionData(n=len(table), scores=scores, class_counts=class_counts)
    if "metadata" in plan:
        assert source is not None and loaded.user_metadata is not None, "the load stage reads a datasource's metadata"
        reporter.set_stage("metadata", "Measuring each image's sharpness, noise and size.")
        with timer.stage("metadata"):
            data.metadata, data.metadata_kinds = metadata_table(
                source, table.filenames, measured, loaded.user_metadata, loaded.metadata_fields, run_dir, reporter
            )
    data.queries = similarity_queries(config, table)

    reporter.set_stage("selection")
    with timer.stage("selection"):
        pool = load_datapool(path_of(config, "datapool.name"), worker.datapool.name) if worker.datapool.name else None
        earlier = earlier_picks(table, pool, worker.labeled_filenames_file, config.shared_dir, reporter)
        picked = pick(table, data, config.selection, earlier, worker.seed, reporter, selection_device(embedded.device))
    result = picked.result

    reporter.set_stage("outputs")
    with timer.stage("outputs"):
        reasons = not_candidate_reasons(table.filenames, earlier, picked.objectives)
        written = write_selection(run_dir, table, result, data.scores, picked.objectives, samples.removed, reasons)
        if "dump" in plan:
            dump_images(run_dir, source, written.selected, worker, reporter)

    reporter.set_stage("report")
    report_inputs = ReportInputs(
        filenames=table.filenames,
        embeddings=table.embeddings,
        selected=result.indices,
        nearest=result.nearest,
        nearest_distance=result.nearest_distance,
        scores=data.scores,
        class_counts=data.class_counts,
        losses=embedded.losses,
        n_example_images=worker.n_example_images,
        seed=worker.seed,
    )
    with timer.stage("report"):
        statistics, raw_distances = report_facts(report_inputs)
        with atomic_write(run_dir / "data/nearest_neighbour_distances.npz", mode="wb") as handle:
            # numpy's stubs give savez_compressed a keyword allow_pickle (numpy >= 2.1) that mypy matches **raw_distances against.
            np.savez_compressed(handle, **raw_distances)  # type: ignore[arg-type]  # the web app's distance histograms
    drawing_began = time.perf_counter()
    report = run_report(
        run_directory=str(run_dir.path),
        started=started,
        finished=datetime.now(),
        stage_durations=timer.stages,
        files_seen=files_seen,
        source=source,
        corrupt=len(samples.corrupt),
        duplicates=len(samples.duplicates),
        candidates=int(picked.candidates.sum()),
        predictions=loaded.predictions,
        selected=len(written.selected),
        removed=written.removed,
        stop_reason=result.stop_reason,
        embedding_dimension=int(table.embeddings.shape[1]),
        device=embedded.device,
        compute_efficiency=embedded.compute_efficiency,
        training=embedded.training_facts(),
        objectives=picked.objectives,
        labeled=len(earlier.labeled),
        datapool=pool.name if pool is not None else None,
        config=config.to_dict(),
        statistics=statistics,
    )

    def finish(job: dict[str, Any]) -> None:
        """The job ends once the figures are drawn: report.pdf's duration covers them too."""
        job.update(job_end(started, datetime.now()))
        job["stage_durations_s"]["report"] = round(timer.stages.get("report", 0.0) + time.perf_counter() - drawing_began, 3)

    write_report(run_dir, report, report_inputs, raw_distances, source, reporter, finish)
    if pool is not None:  # last: a run that fails earlier leaves the datapool as it was
        save_run(pool, table, result.indices, str(run_dir.path), worker.datapool.keep_history, reporter)
    reporter.log("Done!")
    return RunResult(run_dir=run_dir.path, selected=written.selected, report=report)
