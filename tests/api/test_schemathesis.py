"""schemathesis fuzzes every operation of /api/schema/ on the real server (as bob, who owns
nothing of alice's): no 500s, and every answer's status, content type, headers and body as the
schema documents them; requests without a token are refused. Bounded: 10 examples per operation
and 60 s in all."""

import subprocess
import sys
from pathlib import Path

CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "ignored_auth",
])


def test_schemathesis_finds_no_server_errors_or_schema_violations(winnow_server):
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [str(schemathesis), "run", f"{winnow_server.url}/api/schema/?format=json",
         "-H", f"Authorization: Token {winnow_server.tokens['bob']}",
         "--checks", CHECKS, "--phases", "examples,fuzzing", "--max-examples", "10", "--max-time", "60",
         "--workers", "2", "--seed", "1", "--request-timeout", "30"],
        capture_output=True, text=True, timeout=300, cwd=winnow_server.data_dir,  # its cache stays out of the repo
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
