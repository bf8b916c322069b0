"""The stages of a run (``pipeline.run`` calls them in order) and what they share.

- ``samples``: list the samples, restrict them, drop those that leave (and why).
- ``checks``: corrupt files and exact duplicates.
- ``image_metadata``: the metadata Winnow computes for every image (``lightly.*``).
- ``inputs``: what the strategies read: predictions and their scores, query samples.
- ``datapool``: selections that accumulate over runs.
- ``outputs``: the selection written to the run directory.
- ``rundir``: the run directory itself.

Nothing is imported here, so ``config`` can import ``stages.datapool`` without a cycle.
"""
