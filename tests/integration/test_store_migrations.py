"""Alembic migrations of the store on real SQLite files and PostgreSQL databases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pg_database import postgres_database_url

from fleet_api.adapters.migrations import INITIAL_TABLES, MigrationError, head_revision
from fleet_api.adapters.store import SqlStore, StoreError, metadata
from fleet_api.domain.deliveries import Document, Party, new_delivery

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
THREAD_TIMEOUT_S = 60.0


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hallfleet.db'}"
    else:
        yield from postgres_database_url("hallfleet_migr")


def _inspect(url: str, check) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return check(conn)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    return _inspect(url, lambda conn: MigrationContext.configure(conn).get_current_revision())


def _schema_differences(url: str) -> list:
    return _inspect(url, lambda conn: compare_metadata(MigrationContext.configure(conn), metadata))


def test_fresh_database_migrates_to_head_matching_the_models(db_url: str) -> None:
    store = SqlStore(db_url)
    store.close()
    assert _revision(db_url) == head_revision()
    assert _schema_differences(db_url) == []


def test_reopening_at_head_changes_nothing(db_url: str) -> None:
    first = SqlStore(db_url)
    first.append_custody("alert", None, "dr-01", "dr-01", None, None, "bumper", T0)
    first.close()
    again = SqlStore(db_url)
    try:
        assert [e.kind for e in again.all_custody()] == ["alert"]
        assert again.verify_custody() == []
    finally:
        again.close()
    assert _revision(db_url) == head_revision()


def test_database_made_before_migrations_is_stamped_and_keeps_its_data(db_url: str) -> None:
    # What the store did before Alembic: create_all of the tables it had then, then write through it.
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        metadata.create_all(conn, tables=[metadata.tables[name] for name in sorted(INITIAL_TABLES)])
    engine.dispose()
    old = SqlStore(db_url)
    d = new_delivery(
        "D-20261129-0001",
        Party("win-A01", "王科员"),
        Party("dept-market", "李科长"),
        [Document("BC-1", "营业执照申请表")],
        "normal",
        "",
        T0,
        "123456",
    )
    old.add_delivery(d)
    old.append_custody("created", d.id, "王科员", None, None, "win-A01", "", T0)
    old.close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # back to the pre-migration state: initial tables and rows, no alembic_version
        for name in ["alembic_version", *sorted(set(metadata.tables) - INITIAL_TABLES)]:
            conn.execute(sa.text(f"DROP TABLE {name}"))
    engine.dispose()
    assert _revision(db_url) is None

    store = SqlStore(db_url)
    try:
        assert store.get_delivery(d.id) == d
        assert store.verify_custody() == []
        assert store.append_custody("assigned", d.id, "fleet", "dr-01", 1, None, "", T0).seq == 2
    finally:
        store.close()
    assert _revision(db_url) == head_revision()


def test_foreign_half_schema_is_refused_not_patched(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE deliveries (id VARCHAR(64) PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(MigrationError, match=r"has tables deliveries but not custody_events.*refusing"):
        SqlStore(db_url)


def test_read_only_store_refuses_an_empty_database_and_creates_nothing(db_url: str) -> None:
    with pytest.raises(StoreError, match="is not a HallFleet database"):
        SqlStore(db_url, read_only=True)
    tables = _inspect(db_url, lambda conn: set(sa.inspect(conn).get_table_names()))
    assert not tables & (INITIAL_TABLES | {"alembic_version"})


def test_two_processes_starting_at_once_both_get_the_schema(db_url: str) -> None:
    errors: list[BaseException] = []
    stores: list[SqlStore] = []
    barrier = threading.Barrier(2, timeout=THREAD_TIMEOUT_S)

    def start() -> None:
        try:
            barrier.wait()
            stores.append(SqlStore(db_url))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=THREAD_TIMEOUT_S)
    try:
        assert not any(t.is_alive() for t in threads), f"store start-up did not finish within {THREAD_TIMEOUT_S} s"
        assert errors == []
        assert len(stores) == 2
        stores[0].append_custody("alert", None, "dr-01", "dr-01", None, None, "a", T0)
        assert stores[1].append_custody("alert", None, "dr-02", "dr-02", None, None, "b", T0).seq == 2
    finally:
        for s in stores:
            s.close()
    assert _revision(db_url) == head_revision()
