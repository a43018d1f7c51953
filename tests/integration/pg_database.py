"""A throw-away PostgreSQL database per test on 127.0.0.1:5432 (trust auth), or a skip saying why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_CONNECT_TIMEOUT_S = 3


def postgres_database_url(prefix: str = "hallfleet_test") -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh, uniquely named database; drop it afterwards."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - dev extras missing
        pytest.skip(f"psycopg not installed: {exc}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
