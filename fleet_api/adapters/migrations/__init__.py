"""Alembic migrations of the fleet store, run in code at store start-up (no alembic.ini needed).

The store calls :func:`upgrade_to_head` inside its own transaction, so on SQLite the whole upgrade
runs under ``BEGIN IMMEDIATE`` and on PostgreSQL under a transaction-scoped advisory lock: two
fleet processes starting at once never both create the tables. Databases made before migrations
existed (all tables present, no ``alembic_version``) are stamped at the initial revision first.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent
INITIAL_REVISION = "0001"
# Tables of the initial revision: present without alembic_version means "created by create_all".
INITIAL_TABLES = frozenset(
    {"deliveries", "delivery_history", "custody_events", "custody_head", "delivery_counters", "notifications"}
)
_PG_MIGRATION_LOCK_ID = 0x48414C4C  # "HALL": one arbitrary constant shared by every fleet process


class MigrationError(RuntimeError):
    """The database's schema is in a state the migrations cannot safely take over."""


def alembic_config(connection: Connection | None = None) -> Config:
    """A Config pointing at this package; ``connection`` is used by env.py when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships versions/
        raise MigrationError(f"no migration scripts found in {MIGRATIONS_DIR / 'versions'}")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(connection: Connection) -> None:
    """Bring the schema to the newest revision, inside the caller's open transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_MIGRATION_LOCK_ID})
    if current_revision(connection) == head_revision():
        return
    _stamp_if_made_by_create_all(connection)
    command.upgrade(alembic_config(connection), "head")


def _stamp_if_made_by_create_all(connection: Connection) -> None:
    existing = set(sa.inspect(connection).get_table_names()) & INITIAL_TABLES
    if not existing or current_revision(connection) is not None:
        return
    missing = INITIAL_TABLES - existing
    if missing:
        raise MigrationError(
            f"database has tables {', '.join(sorted(existing))} but not {', '.join(sorted(missing))} "
            "and no alembic_version: it was not made by HallFleet's store; refusing to migrate it"
        )
    command.stamp(alembic_config(connection), INITIAL_REVISION)
