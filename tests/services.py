"""The servers the integration tests use for real (PostgreSQL and Redis on loopback), and how a
test tells whether one is there: tests that need one skip, saying so loudly, where it is not."""

from __future__ import annotations

import socket

PG = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"


def reachable(address: tuple[str, int]) -> bool:
    """Whether something accepts TCP connections at ``address`` (within a second)."""
    try:
        socket.create_connection(address, timeout=1).close()
        return True
    except OSError:
        return False
