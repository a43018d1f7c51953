"""SqlStore against real databases: SQLite file (always) and PostgreSQL (skipped when absent)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from pg_database import postgres_database_url

from fleet_api.adapters.store import DeliveryExistsError, SqlStore, StoreError
from fleet_api.domain.custody import CustodyDraft
from fleet_api.domain.deliveries import (
    DeliveryState,
    Document,
    Party,
    assign,
    new_delivery,
    transition,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 9, 0, 0, 123456, tzinfo=UTC)
S = DeliveryState


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'hallfleet.db'}"
    else:
        yield from postgres_database_url()


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[[], SqlStore]]:
    """Opens stores on the test database; all are closed at the end."""
    opened: list[SqlStore] = []

    def _open() -> SqlStore:
        s = SqlStore(store_url)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()


def _delivery(number: int = 1, at: datetime = T0):
    return new_delivery(
        f"D-20261129-{number:04d}",
        Party("window-3", "王科员"),
        Party("dept-planning", "Officer Li"),
        [Document("BC-001", "营业执照申请表"), Document("BC-002", "ID copy")],
        "urgent",
        "handle with care 小心",
        at,
        "123456",
    )


def test_delivery_round_trips_with_history(open_store) -> None:
    store = open_store()
    d = _delivery()
    store.add_delivery(d)
    assert store.get_delivery(d.id) == d

    assign(d, "dr-01", 2, T0 + timedelta(seconds=5))
    transition(d, S.TO_PICKUP, T0 + timedelta(seconds=6), "driving to window-3")
    store.save_delivery(d)
    got = store.get_delivery(d.id)
    assert got == d
    assert [h.state for h in got.history] == [S.REQUESTED, S.ASSIGNED, S.TO_PICKUP]
    assert got.created_at == T0 and got.robot_id == "dr-01" and got.documents[0].title == "营业执照申请表"
    assert store.get_delivery("D-nope") is None


def test_duplicate_add_and_shrunk_history_are_refused(open_store) -> None:
    store = open_store()
    d = _delivery()
    store.add_delivery(d)
    with pytest.raises(DeliveryExistsError, match="D-20261129-0001 already exists"):
        store.add_delivery(_delivery())
    assign(d, "dr-01", 1, T0)
    store.save_delivery(d)
    with pytest.raises(StoreError, match="history is append-only"):
        store.save_delivery(_delivery())
    assert store.get_delivery(d.id).state is S.ASSIGNED


def test_list_filters_by_state_and_orders_by_creation(open_store) -> None:
    store = open_store()
    for n in range(1, 5):
        d = _delivery(n, T0 + timedelta(minutes=n))
        if n % 2 == 0:
            assign(d, "dr-01", n, T0 + timedelta(minutes=n))
        store.add_delivery(d)
    assert [d.id[-1] for d in store.list_deliveries()] == ["4", "3", "2", "1"]
    assert [d.id[-1] for d in store.list_deliveries(states=[S.REQUESTED], newest_first=False)] == ["1", "3"]
    assert [d.id[-1] for d in store.list_deliveries(states=["assigned"], limit=1)] == ["4"]
    assert all(len(d.history) >= 1 for d in store.list_deliveries())


def test_delivery_numbers_count_per_day(open_store) -> None:
    store = open_store()
    day = date(2026, 11, 29)
    assert [store.next_delivery_number(day) for _ in range(3)] == [1, 2, 3]
    assert store.next_delivery_number(date(2026, 11, 30)) == 1
    assert store.next_delivery_id(day) == "D-20261129-0004"


def test_state_change_and_custody_event_commit_together(open_store) -> None:
    store = open_store()
    d = _delivery()
    created = store.add_delivery(d, custody=CustodyDraft("created", d.id, "王科员", T0, place_id="window-3"))
    assert created is not None and created.seq == 1
    assign(d, "dr-01", 2, T0)
    e = store.save_delivery(d, custody=CustodyDraft("assigned", d.id, "scheduler", T0, "", "dr-01", 2))
    assert e is not None and e.seq == 2 and e.prev_hash == created.hash
    assert [x.kind for x in store.custody_for(d.id)] == ["created", "assigned"]


def test_concurrent_custody_writers_keep_one_intact_chain(open_store) -> None:
    store_a, store_b = open_store(), open_store()  # two engines: as two processes would
    per_thread = 50
    errors: list[BaseException] = []

    def write(store: SqlStore, robot: str) -> None:
        try:
            for i in range(per_thread):
                store.append_custody(
                    "departed", f"D-{robot}", robot, robot, 1, "lobby-1", f"{robot} #{i}", T0 + timedelta(seconds=i)
                )
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, r)) for s, r in [(store_a, "dr-01"), (store_b, "dr-02")]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "custody writers did not finish within 120 s"
    assert errors == []
    events = store_a.all_custody()
    assert [e.seq for e in events] == list(range(1, 2 * per_thread + 1))
    assert store_a.verify_custody() == []
    assert len(store_a.custody_for("D-dr-01")) == per_thread and len(store_b.custody_for("D-dr-02")) == per_thread


def test_reopened_store_still_has_everything(open_store) -> None:
    store = open_store()
    d = _delivery()
    store.add_delivery(d, custody=CustodyDraft("created", d.id, "王科员", T0))
    store.append_custody("alert", None, "dr-01", "dr-01", None, None, "bumper hit", T0 + timedelta(seconds=1))
    note = store.add_notification("dept-planning", d.id, "文件即将送达", "Files arriving soon", T0)
    store.close()

    again = open_store()
    assert again.get_delivery(d.id) == d
    assert [e.kind for e in again.all_custody()] == ["created", "alert"]
    assert again.verify_custody() == []
    assert again.notifications_for("dept-planning") == [note]
    assert again.mark_notification_read(note.id)
    assert again.notifications_for("dept-planning", unread_only=True) == []
    assert again.notifications_for("window-3") == []
    # The chain continues where it stopped.
    assert again.append_custody("loaded", d.id, "王科员", "dr-01", 2, "window-3", "", T0).seq == 3


def _write_events(store: SqlStore, n: int) -> None:
    for i in range(n):
        store.append_custody(
            "arrived", "D-1", "dr-01", "dr-01", 1, f"place-{i}", f"event {i}", T0 + timedelta(seconds=i)
        )


@pytest.mark.parametrize(
    "tamper_sql,expected",
    [
        ("UPDATE custody_events SET place_id = 'elsewhere' WHERE seq = 3", "hash mismatch at seq 3"),
        ("DELETE FROM custody_events WHERE seq = 3", "gap in seq: expected 3, found 4"),
        ("DELETE FROM custody_events WHERE seq = 5", "chain head says seq 5 but the newest stored event is seq 4"),
        ("UPDATE custody_events SET at = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 2", "hash mismatch at seq 2"),
    ],
    ids=["altered", "deleted-middle", "deleted-newest", "backdated"],
)
def test_tampering_via_raw_sql_is_detected(open_store, store_url: str, tamper_sql: str, expected: str) -> None:
    store = open_store()
    _write_events(store, 5)
    assert store.verify_custody() == []
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(tamper_sql))
    finally:
        engine.dispose()
    problems = store.verify_custody()
    assert any(expected in p for p in problems), problems


def test_trip_runs_are_kept_per_robot_across_reopening_until_deleted(open_store) -> None:
    first = open_store()
    first.save_run("dr1", {"run": {"trip": {"order_id": "D-1-a"}}, "recipient_pin": "012345"})
    first.save_run("dr2", {"run": {"trip": {"order_id": "D-2-a"}}, "recipient_pin": None})
    first.save_run("dr1", {"run": {"trip": {"order_id": "D-1-b"}}, "recipient_pin": None})  # replaces dr1's
    again = open_store()  # a restarted fleet manager
    assert again.load_runs() == {
        "dr1": {"run": {"trip": {"order_id": "D-1-b"}}, "recipient_pin": None},
        "dr2": {"run": {"trip": {"order_id": "D-2-a"}}, "recipient_pin": None},
    }
    again.delete_run("dr1")
    again.delete_run("dr9")  # nothing stored: nothing to do
    assert list(again.load_runs()) == ["dr2"]
