"""The load stage: the samples of a run, and the predictions and metadata their datasource carries."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..config import WorkerConfig
from ..formats.metadata import MetadataField, read_metadata
from ..formats.predictions import LoadedPredictions
from ..progress import Reporter
from ..sources import Source
from .inputs import load_valid_predictions
from .samples import Samples, list_samples


@dataclass
class Loaded:
    """What the load stage found; without a datasource only the samples (from the embeddings file)."""

    samples: Samples
    #: every task's predictions (``.lightly/predictions``) over the samples
    predictions: LoadedPredictions | None = None
    #: the user's metadata fields, in schema order (``.lightly/metadata/schema.json``)
    metadata_fields: list[MetadataField] = field(default_factory=list)
    #: N rows in the order of ``samples.filenames``: ``filenames`` and one column per field
    user_metadata: pd.DataFrame | None = None

    def task_types(self) -> dict[str, str]:
        """``{task: task type}`` of the predictions ({} without)."""
        return self.predictions.task_types() if self.predictions else {}


def load_inputs(worker: WorkerConfig, shared_dir: str, source: Source | None, reporter: Reporter) -> Loaded:
    """List the samples (``worker.embeddings``, ``relevant_filenames_file``, found relative to
    ``shared_dir``) and read what ``source`` carries about them; bad prediction files fail the
    run or are skipped as ``worker.invalid_predictions`` says."""
    samples = list_samples(worker, shared_dir, source, reporter)
    if source is None:
        return Loaded(samples)
    predictions = load_valid_predictions(source, samples.filenames, samples.all_images, worker.invalid_predictions, reporter)
    fields, user_metadata = read_metadata(source, samples.filenames, reporter, known_images=samples.all_images)
    return Loaded(samples, predictions, fields, user_metadata)
