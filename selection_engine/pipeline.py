"""One run of the engine, stage by stage (SPEC §4).

``run(config)`` lists the datasource, checks files, gets embeddings, selects, and writes the run
directory. Progress goes to a callback ``(stage, done, total, message)`` and to timestamped log
lines; a failure leaves ``FAILED.txt`` with the reason in the run directory and re-raises.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig
from .config.tasks import check_task_inputs
from .errors import ConfigError, InputError, WinnowError
from .formats.embeddings import EmbeddingTable, normalize, write_embeddings
from .progress import ProgressCallback, Reporter, StageTimer
from .report import ReportInputs, report_facts, write_figures_and_pdf
from .fileio import atomic_write
from .selection import SelectionData, build_objectives, select, target_count, typicality
from .sources import LocalSource, S3Source, Source
from .stages import checks, inputs, outputs
from .stages.datapool import Datapool, load_datapool
from .stages.rundir import RunDirectory
from .stages.samples import drop, duplicate_rows, list_samples, read_filename_list


WEIGHING = (
    "Each pick maximises the sum over strategies of strength x term, each term in [0, 1]: DIVERSITY, "
    "the distance to the nearest selected sample divided by the largest such distance among the "
    "candidates; WEIGHTS, the input rescaled to [0, 1] over the candidates; SIMILARITY, closeness to "
    "the nearest query sample, rescaled likewise; BALANCE, how much the sample moves the selection's "
    "class mix toward the target (L1), rescaled over the candidates. THRESHOLD removes candidates. "
    "A DIVERSITY weighed by typicality multiplies its term by t^w, t the typicality (inverse mean "
    "distance to the 20 nearest neighbours) rescaled to [0, 1]; coral's COLD_START uses w = 0.5 with "
    "no labels, falling linearly to 0 at 30 labeled samples per class."
)


@dataclass
class RunResult:
    run_dir: Path
    selected: list[str]
    report: dict


def source_for_input_dir(input_dir: str) -> Source:
    """``s3://bucket/prefix`` reads a bucket (credentials and ``AWS_ENDPOINT_URL`` from the
    environment, as boto3 finds them); anything else is a local folder."""
    if input_dir.startswith("s3://"):
        bucket, _, prefix = input_dir[len("s3://"):].partition("/")
        return S3Source(bucket, prefix)
    return LocalSource(input_dir)


def run(
    config: RunConfig,
    on_progress: ProgressCallback | None = None,
    show_bars: bool = True,
    stream=None,
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
            reporter.log(f"Failed: {exc}")
            run_dir.mark_failed(str(exc))
            raise
        except Exception as exc:
            reporter.log(f"Failed with an internal error: {type(exc).__name__}: {exc}")
            run_dir.mark_failed(f"internal error: {type(exc).__name__}: {exc}")
            raise


def _run(config: RunConfig, source: Source | None, run_dir: RunDirectory, reporter: Reporter) -> RunResult:
    worker = config.worker
    timer = StageTimer()
    started = datetime.now()
    run_dir.write_json("config/config.json", config.to_dict())
    for key in ("pretagging", "pretagging_debug", "upload_dataset"):
        if getattr(worker, key):
            reporter.log(f"Warning: {key}=True is not supported by Winnow (it runs offline); ignoring it.")
    if worker.enable_training and source is None:
        raise ConfigError("input_dir", "is required for enable_training: the images are read from there")
    reporter.set_stage("load")
    predictions = user_metadata = None
    measured: dict[str, tuple] = {}  # computed metadata, taken during the corruptness check
    with timer.stage("load"):
        samples = list_samples(config, source, reporter)
        if source is not None:
            from .formats.metadata import read_metadata

            predictions = inputs.load_valid_predictions(config, source, samples.filenames, samples.all_images, reporter)
            metadata_fields, user_metadata = read_metadata(source, samples.filenames, reporter, known_images=samples.all_images)
        check_task_inputs(
            config.selection, predictions.task_types() if predictions else {}, legacy=not config.explicit_selection
        )
    files_seen = len(samples.filenames)

    if source is not None and worker.enable_corruptness_check:
        reporter.set_stage("corruptness", "Checking for corrupt images (disable with enable_corruptness_check=False).")
        with timer.stage("corruptness"):
            samples.corrupt, measured = checks.inspect_images(source, samples.filenames, reporter)
        reporter.log(f"Found {len(samples.corrupt)} corrupt images.")
        drop(samples, {name: f"corrupt: {reason}" for name, reason in samples.corrupt.items()})

    if worker.remove_exact_duplicates:
        reporter.set_stage("duplicates", "Removing exact duplicates (disable with remove_exact_duplicates=False).")
        with timer.stage("duplicates"):
            if source is not None:
                samples.duplicates = checks.find_exact_duplicates(source, samples.filenames, reporter)
            else:
                samples.duplicates = duplicate_rows(samples.table)
        reporter.log(f"Found {len(samples.duplicates)} exact duplicates.")
        drop(samples, {dup: f"exact duplicate of {kept}" for dup, kept in samples.duplicates.items()})

    if not samples.filenames:
        raise InputError(source.label if source else worker.embeddings, "no usable images are left to select from")

    from .embedding.stage import embed_stage  # torch loads only for runs that need a model

    embedded = embed_stage(config, source, samples, run_dir, reporter, timer)
    device, efficiency = embedded.device, embedded.compute_efficiency
    write_embeddings(run_dir / "data/embeddings.csv", samples.table)
    reporter.log(f"Unique embeddings are stored in {run_dir / 'data/embeddings.csv'}")

    table = samples.table
    if worker.normalize_embeddings:
        reporter.log("Normalizing embeddings to unit length (disable with normalize_embeddings=False).")
        table = EmbeddingTable(table.filenames, normalize(table.embeddings), table.labels, table.extra)
    write_embeddings(run_dir / "data/normalized_embeddings.csv", table)
    reporter.log(f"Normalized embeddings are stored in {run_dir / 'data/normalized_embeddings.csv'}")

    reporter.set_stage("scores")
    with timer.stage("scores"):
        data = SelectionData(n=len(table), scores=inputs.column_scores(config, table))
        if predictions is not None and predictions.schemas:
            scores, data.class_counts = inputs.prediction_scores(config, predictions, table.filenames)
            data.scores.update(scores)
            with atomic_write(run_dir / "data/scores.csv") as handle:
                inputs.scores_frame(table.filenames, scores).to_csv(handle, index=False, float_format="%.6g")
            with atomic_write(run_dir / "data/classes.csv") as handle:
                inputs.classes_frame(table.filenames, data.class_counts).to_csv(handle, index=False)
            reporter.log(f"Scores of {len(predictions.schemas)} tasks are stored in {run_dir / 'data/scores.csv'}")
    if source is not None:
        from .stages.image_metadata import compute_image_metadata, metadata_frame, metadata_kinds

        reporter.set_stage("metadata", "Computing image metadata (sharpness, snr, size).")
        with timer.stage("metadata"):
            if measured:
                computed = metadata_frame(table.filenames, [measured[name] for name in table.filenames])
            else:
                computed = compute_image_metadata(source, table.filenames, reporter)
            order = pd.DataFrame({"filenames": table.filenames})
            metadata = order.merge(user_metadata, on="filenames", how="left").merge(computed, on="filenames", how="left")
            with atomic_write(run_dir / "data/metadata.csv") as handle:
                metadata.to_csv(handle, index=False)
            data.metadata = metadata
            data.metadata_kinds = metadata_kinds(metadata_fields)
    data.queries = inputs.similarity_queries(config, table)

    reporter.set_stage("selection")
    with timer.stage("selection"):
        pool, pool_candidates, preselected, external = _datapool_inputs(config, table, reporter)
        labeled = _labeled_inputs(config, table, reporter)
        pool_candidates[labeled] = False
        preselected = np.union1d(preselected, labeled).astype(np.int64)
        data.n_labeled = len(preselected) + (len(external) if external is not None else 0)
        if config.selection.uses_typicality:
            data.typicality = typicality(table.embeddings, seed=worker.seed)
        candidates = pool_candidates.copy()
        objectives = build_objectives(config.selection, data, candidates, worker.seed)
        reporter.log(f"Sampling dataset with stopping condition: {_describe_stop(config, int(candidates.sum()))}")
        result = select(table.embeddings, config.selection, objectives, candidates, preselected, external)
        if result.skipped:
            reporter.log(
                "Skipped sampling because the number of remaining images is smaller than the number of "
                f"requested samples: all {len(result.indices)} are selected."
            )
        else:
            reporter.log(f"Sampled {len(result.indices)} images ({result.stop_reason}).")

    reporter.set_stage("outputs")
    with timer.stage("outputs"):
        reasons = _not_candidate_reasons(table, pool, pool_candidates, objectives, labeled)
        written = outputs.write_selection(run_dir, table, result, data.scores, objectives, samples.removed, reasons)
        if worker.dump_dataset:
            if source is None:
                raise ConfigError("dump_dataset", "needs input_dir: the images to copy are read from there")
            outputs.dump_images(run_dir, source, written.selected, worker, reporter)

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
            np.savez_compressed(handle, **raw_distances)  # the web app's distance histograms
    finished = datetime.now()
    report = {
        "status": "completed",
        "run_directory": str(run_dir.path),
        "job": {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - started).total_seconds(), 3),
            "stage_durations_s": timer.stages,
            "files_seen": files_seen,
            "rejected_paths": [{"filename": n, "reason": r} for n, r in (source.rejected if source else [])],
            "corrupt": len(samples.corrupt),
            "duplicates": len(samples.duplicates),
            "candidates": int(candidates.sum()),
            "predictions": _predictions_facts(predictions),
            "selected": len(written.selected),
            "removed": written.removed,
            "stop_reason": result.stop_reason,
            "embedding_dimension": int(table.embeddings.shape[1]),
            "device": device,
            "compute_efficiency": efficiency,
            "training": embedded.training_facts(),
            "host": platform.node(),
            "datasource": source.label if source is not None else None,
        },
        "selection": {
            "objectives": [_objective_facts(o) for o in objectives],
            "labeled": int(len(labeled)),
            "weighing": WEIGHING,
            "datapool": pool.name if pool is not None else None,
        },
        "config": config.to_dict(),
        "statistics": statistics,
    }
    reporter.log(f"Writing report to {run_dir / 'report.pdf'}.")
    try:
        report["plots"] = write_figures_and_pdf(run_dir, report, report_inputs, raw_distances, source, reporter)
    except Exception as exc:  # the selection is done; a broken report must not lose it
        reporter.log(f"Warning: report.pdf could not be written: {type(exc).__name__}: {exc}")
        report["plots"] = []
    run_dir.write_json("report.json", report)
    reporter.log(f"Report written to {run_dir / 'report.json'}")
    if pool is not None:  # last: a run that fails earlier leaves the datapool as it was
        picked = [table.filenames[i] for i in result.indices]
        pool.record(table.filenames, picked, table.embeddings[result.indices], str(run_dir.path), worker.datapool.keep_history)
        pool.save()
        reporter.log(f"Datapool {pool.name} now holds {len(pool.selected)} selected of {len(pool.seen)} seen samples.")
    reporter.log("Done!")
    return RunResult(run_dir=run_dir.path, selected=written.selected, report=report)


def _not_candidate_reasons(table, pool, pool_candidates, objectives, labeled) -> dict[str, str]:
    """Why samples that were never candidates were left out (labeled, datapool, THRESHOLD, SIMILARITY)."""
    reasons = {table.filenames[i]: "labeled already (labeled_filenames_file)" for i in labeled}
    for objective in objectives:
        if objective.excluded is None:
            continue
        for i in np.flatnonzero(objective.excluded):
            if objective.kind == "threshold":
                reasons[table.filenames[i]] = f"excluded by {objective.label} (value {objective.values[i]:.6g})"
            else:
                reasons[table.filenames[i]] = "query sample of SIMILARITY"
    if pool is not None:
        earlier = set(pool.selected)
        for i in np.flatnonzero(~pool_candidates):
            name = table.filenames[i]
            reasons.setdefault(name, (
                f"selected in an earlier run of datapool {pool.name}"
                if name in earlier
                else f"processed in an earlier run of datapool {pool.name}"
            ))
    return reasons


def _predictions_facts(predictions) -> dict:
    if predictions is None:
        return {"tasks": {}, "problems": []}
    return {
        "tasks": {
            task: {"task_type": schema.task_type, "categories": schema.category_names,
                   "files": predictions.n_files.get(task, 0), "images_with_predictions": predictions.coverage(task)}
            for task, schema in predictions.schemas.items()
        },
        "problems": [{"file": p.file, "task": p.task, "message": p.message} for p in predictions.problems],
    }


def _datapool_inputs(config: RunConfig, table: EmbeddingTable, reporter: Reporter):
    """(pool or None, candidates bool (N,), preselected indices, external embeddings (M, D))."""
    n = len(table)
    candidates = np.ones(n, dtype=bool)
    name = config.worker.datapool.name
    if not name:
        return None, candidates, np.zeros(0, dtype=np.int64), None
    pool: Datapool = load_datapool(config.shared_dir or config.output_dir, name)
    index = {f: i for i, f in enumerate(table.filenames)}
    seen = np.array([f in pool.seen for f in table.filenames], dtype=bool)
    candidates &= ~seen
    preselected = np.array([index[f] for f in pool.selected if f in index], dtype=np.int64)
    absent = [i for i, f in enumerate(pool.selected) if f not in index]
    external = None
    if absent:
        if pool.embeddings.shape[1] == table.embeddings.shape[1]:
            external = pool.embeddings[absent]
        else:
            reporter.log(
                f"Warning: {len(absent)} earlier picks of datapool {name} are not in this input and their stored "
                f"embeddings have dimension {pool.embeddings.shape[1]}, not {table.embeddings.shape[1]}; ignoring them."
            )
    reporter.log(
        f"Datapool {name}: {len(pool.selected)} samples selected earlier, {int(seen.sum())} of the {n} "
        f"samples seen before, {int(candidates.sum())} new candidates."
    )
    return pool, candidates, preselected, external


def _objective_facts(objective) -> dict:
    facts = {"label": objective.label, "strength": objective.strength}
    if objective.exponent is not None:
        facts["typicality_exponent"] = round(objective.exponent, 4)
    return facts


def _labeled_inputs(config: RunConfig, table: EmbeddingTable, reporter: Reporter) -> np.ndarray:
    """Indices of the samples listed in ``labeled_filenames_file`` (empty without one)."""
    if not config.worker.labeled_filenames_file:
        return np.zeros(0, dtype=np.int64)
    listed = read_filename_list(config, "labeled_filenames_file")
    index = {f: i for i, f in enumerate(table.filenames)}
    labeled = np.array(sorted({index[f] for f in listed if f in index}), dtype=np.int64)
    absent = [f for f in listed if f not in index]
    if listed and not len(labeled):
        raise InputError(config.worker.labeled_filenames_file, f"none of its {len(listed)} files is a sample of this run, e.g. {absent[0]!r}")
    if absent:
        reporter.log(f"Warning: {len(absent)} of the {len(listed)} labeled files are not samples of this run (e.g. {absent[0]!r}); ignoring them.")
    reporter.log(f"{len(labeled)} samples are labeled already: they count as selected and are not picked again.")
    return labeled


def _describe_stop(config: RunConfig, n_candidates: int) -> str:
    parts = []
    k = target_count(config.selection, n_candidates)
    if k is not None:
        parts.append(f"n_samples={k}")
    if config.selection.min_distance is not None:
        parts.append(f"min_distance={config.selection.min_distance}")
    return ", ".join(parts)
