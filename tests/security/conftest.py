"""The security tests' world: the web app's fixtures (two users, a datasource root, a dataset with
predictions, a completed run) and API clients holding each user's token."""

from __future__ import annotations

from tests.api.conftest import alice_api, bob_api, token_client  # noqa: F401  (fixtures)
from tests.webapp.conftest import (  # noqa: F401  (fixtures)
    CORAL,
    SMALL_MODEL,
    TASK,
    alice,
    alice_client,
    bob,
    completed_run,
    dataset,
    images,
    make_dataset,
    predictions_zip,
    root,
    upload,
    zip_bytes,
    zip_folder,
)
