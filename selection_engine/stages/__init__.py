"""The stages of a run (``pipeline.run`` calls them in order) and what they share.

- ``load``: the load stage: samples, predictions, the user's metadata.
- ``samples``: list the samples, restrict them, drop those that leave (and why).
- ``checks``: the corruptness and duplicates stages.
- ``image_metadata``: the metadata Winnow computes for every image (``lightly.*``); the metadata stage.
- ``inputs``: what the strategies read: predictions and their scores (the scores stage), query samples.
- ``datapool``: selections that accumulate over runs.
- ``pick``: the selection stage: what counts as selected already, objectives, the greedy picks.
- ``outputs``: the embeddings and the selection written to the run directory (the outputs stage).
- ``rundir``: the run directory itself.
- ``plan``: which of the stages a run goes through, in order (the pipeline and the web page read it).

The embedding stage is ``embedding/stage.py`` and the report stage ``report/``. Nothing is
imported here, so ``config`` can import ``stages.datapool`` without a cycle.
"""
