"""The image's HEALTHCHECK: healthy while the web server here answers ``GET /healthz`` with 200.

/healthz answers 503 when the database is unreachable; the worker's state is in the body but does
not fail the check (a web server without a worker still serves pages). Only the web role serves
HTTP: compose turns the check off for worker containers.
"""

import os
import sys
import urllib.request

URL = f"http://127.0.0.1:{os.environ.get('WINNOW_PORT', '8000')}/healthz"

try:
    with urllib.request.urlopen(URL, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:  # connection refused, timeout, or an HTTP error status such as 503
    print(f"{URL}: {exc}", file=sys.stderr)
    sys.exit(1)
