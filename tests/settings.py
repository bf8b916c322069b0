"""Settings for the test suite: the app's settings with a throw-away data folder.

Each test that needs datasource roots sets ``settings.DATASOURCE_ROOTS`` itself (pytest-django's
``settings`` fixture), so the roots check is exercised, never switched off.
"""

import os
import tempfile

os.environ.setdefault("WINNOW_DATA_DIR", tempfile.mkdtemp(prefix="winnow-tests-"))

from webapp.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405  (tests call execute_run themselves)
