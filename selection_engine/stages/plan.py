"""Which stages a run goes through, in order: the one place that decides it.

The pipeline runs the stages :func:`planned_stages` lists (and no others); the web app's run page
draws its overall progress bar over the same list, so the bar never waits on a stage that will
not come.
"""

from __future__ import annotations

from ..config.documents import WorkerConfig

#: Every stage a run can go through, in the order the pipeline runs them.
STAGES: tuple[str, ...] = (
    "load",
    "image_pass",
    "corruptness",
    "duplicates",
    "training",
    "embeddings",
    "scores",
    "metadata",
    "selection",
    "outputs",
    "dump",
    "report",
)


def planned_stages(worker: WorkerConfig, *, reads_images: bool) -> list[str]:
    """The stages a run with ``worker``'s settings goes through, in order.

    ``reads_images``: the run has a datasource (``input_dir`` or a web dataset) rather than only an
    embeddings file; without one there are no images to check, embed or measure.
    """
    # With a Ray address the per-image work is one distributed pass (distributed/image_pass.py).
    distributed = reads_images and bool(worker.ray_address)
    # An embeddings file gives the embeddings, unless the run trains (it then embeds too).
    embeds = worker.enable_training or not worker.embeddings
    runs = {
        "image_pass": distributed,
        "corruptness": reads_images and worker.enable_corruptness_check and not distributed,
        "duplicates": worker.remove_exact_duplicates and not distributed,
        "training": worker.enable_training,
        "embeddings": embeds and not (distributed and pass_embeds(worker)),
        "metadata": reads_images,
        "dump": worker.dump_dataset,
    }
    return [stage for stage in STAGES if runs.get(stage, True)]


def pass_embeds(worker: WorkerConfig) -> bool:
    """Whether the distributed image pass embeds the images too (it always checks, hashes and
    measures them): not when the run trains first (training and the embeddings after it run on
    the driver) nor when an embeddings file gives them."""
    return not worker.enable_training and not worker.embeddings
