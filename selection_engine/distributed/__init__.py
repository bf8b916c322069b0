"""Runs that outgrow one machine: the per-image work of a run on a Ray cluster.

With ``ray_address`` set (the CLI key, or ``WINNOW_RAY_ADDRESS`` for the web app's workers),
the pipeline's corruptness, duplicates and embedding stages become one distributed pass
(:mod:`.image_pass`): every image is read and decoded once on the cluster's workers, and the
driver (the CLI process, or the django-q2 worker running the run) gathers the results and goes on
with scoring, selection and the outputs as for any run. Without it nothing here is imported, and
Ray (the ``distributed`` extra) need not be installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .image_pass import PassResult


def run_image_pass(*args: Any, **kwargs: Any) -> PassResult:
    """:func:`.image_pass.image_pass`, or a ConfigError naming ray_address when Ray is not installed."""
    try:
        import pyarrow  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        raise ConfigError("ray_address", "needs Ray: install Winnow with its distributed extra "
                                         "(pip install 'winnow[distributed]')") from None
    from .image_pass import image_pass

    return image_pass(*args, **kwargs)
