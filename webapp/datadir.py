"""Where the web app keeps its files: the layout of ``WINNOW_DATA_DIR`` (``settings.DATA_DIR``).

::

    users/<user id>/                        the user's folder, the engine's shared_dir: relative
                                            paths in configs (datapools, labeled files) land here
        runs/run-<run id>/                  a run's directory (the engine's output_dir/run_directory)
        evaluations/evaluation-<id>/        an evaluation's outputs
        labeled/tag-<tag id>.txt            a tag, written for labeled_filenames_file
    uploads/<dataset id>/.lightly/          a dataset's uploaded predictions and metadata
    uploads/<dataset id>.lock               held while an upload swaps that folder
    thumbnails/<dataset id>/                a dataset's cached thumbnails
    vendor/                                 compressed copies of vendored scripts (plotly.js)

Every other module asks here; none spells a path of this layout itself. Functions take ids,
so this module needs no models.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def vendor_dir() -> Path:
    """Where compressed copies of the scripts Winnow serves from installed packages are kept."""
    return settings.DATA_DIR / "vendor"


def users_root() -> Path:
    """The folder of every user's folder: only what lies below it is Winnow's to delete."""
    return settings.DATA_DIR / "users"


def user_dir(user_id: int) -> Path:
    """The user's folder (the engine's shared_dir)."""
    return users_root() / str(user_id)


def runs_dir(user_id: int) -> Path:
    """Where the user's run directories are made (the engine's output_dir)."""
    return user_dir(user_id) / "runs"


def run_directory_name(run_id: int) -> str:
    """The name of a run's directory inside :func:`runs_dir` (the engine's run_directory)."""
    return f"run-{run_id}"


def run_dir(user_id: int, run_id: int) -> Path:
    return runs_dir(user_id) / run_directory_name(run_id)


def evaluations_dir(user_id: int) -> Path:
    return user_dir(user_id) / "evaluations"


def evaluation_directory_name(evaluation_id: int) -> str:
    """The name of an evaluation's folder inside :func:`evaluations_dir`."""
    return f"evaluation-{evaluation_id}"


def evaluation_dir(user_id: int, evaluation_id: int) -> Path:
    return evaluations_dir(user_id) / evaluation_directory_name(evaluation_id)


def labeled_file(tag_id: int) -> str:
    """Where a tag is written for ``labeled_filenames_file``, relative to the user's folder."""
    return f"labeled/tag-{tag_id}.txt"


def uploads_dir(dataset_id: int) -> Path:
    """Holds the dataset's uploaded ``.lightly/`` (never the datasource's own files)."""
    return settings.DATA_DIR / "uploads" / str(dataset_id)


def upload_lock(dataset_id: int) -> Path:
    """The lock file one upload holds while it swaps :func:`uploads_dir`."""
    return settings.DATA_DIR / "uploads" / f"{dataset_id}.lock"


def thumbnails_dir(dataset_id: int) -> Path:
    return settings.DATA_DIR / "thumbnails" / str(dataset_id)


def disk_usage_folders() -> dict[str, Path]:
    """The folders whose size the dashboard shows, by what they hold."""
    return {"run outputs": users_root(), "thumbnails": settings.DATA_DIR / "thumbnails", "uploads": settings.DATA_DIR / "uploads"}
