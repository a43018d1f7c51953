"""SQL store for deliveries, their history, the custody log and place notifications.

SQLAlchemy 2 Core. SQLite file by default (WAL, every transaction ``BEGIN IMMEDIATE`` so two
writers serialize instead of failing late), PostgreSQL in production. Every public method commits
before it returns, so a crash never loses an acknowledged write.

The custody chain head (last seq + hash) lives in a one-row table that every append locks
(``SELECT ... FOR UPDATE`` on PostgreSQL; the immediate transaction on SQLite): two writers can
never fork the chain, and deleting the newest event is detectable because the head still names it.
Times are stored as UTC ISO-8601 text with microseconds, identical on both databases.
The schema is owned by the Alembic migrations in ``fleet_api/adapters/migrations``; the tables below
mirror the newest revision (a test compares the two).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from fleet_api.adapters.migrations import INITIAL_TABLES, upgrade_to_head
from fleet_api.domain.custody import (
    GENESIS_HASH,
    CustodyDraft,
    CustodyEvent,
    chain_after,
    event_fields,
    iso_utc,
    verify_chain,
)
from fleet_api.domain.deliveries import (
    Delivery,
    DeliveryState,
    HistoryEntry,
    Notification,
    delivery_from_dict,
    delivery_to_dict,
    format_delivery_id,
)

SQLITE_BUSY_TIMEOUT_S = 30.0
_HEAD_ID = 1

metadata = sa.MetaData()

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("robot_id", sa.String(64), nullable=True, index=True),
    sa.Column("created_at", sa.String(40), nullable=False, index=True),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

delivery_history = sa.Table(
    "delivery_history",
    metadata,
    sa.Column("delivery_id", sa.String(64), sa.ForeignKey("deliveries.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

custody_events = sa.Table(
    "custody_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("delivery_id", sa.String(64), nullable=True, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("robot_id", sa.String(64), nullable=True),
    sa.Column("compartment_id", sa.Integer, nullable=True),
    sa.Column("place_id", sa.String(64), nullable=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)

custody_head = sa.Table(
    "custody_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

delivery_counters = sa.Table(
    "delivery_counters",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("place_id", sa.String(64), nullable=False, index=True),
    sa.Column("delivery_id", sa.String(64), nullable=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("text_zh", sa.Text, nullable=False),
    sa.Column("text_en", sa.Text, nullable=False),
    sa.Column("read", sa.Boolean, nullable=False, default=False),
)


trip_runs = sa.Table(
    "trip_runs",
    metadata,
    sa.Column("robot_id", sa.String(64), primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)


class StoreError(RuntimeError):
    """The store cannot do what was asked (duplicate id, unknown delivery ...)."""


class DeliveryExistsError(StoreError):
    pass


class UnknownDeliveryError(StoreError):
    pass


def _set_wal(cursor: Any) -> None:
    """Switch the file to WAL (persistent once done). Changing the journal mode answers "database is
    locked" at once, without the busy timeout, while another connection (a second process starting
    up) holds a transaction: retry within the same timeout."""
    deadline_s = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline_s:
                raise
            time.sleep(0.05)


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)

    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        **({"poolclass": StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so our BEGIN IMMEDIATE is the one used.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not in_memory:
            _set_wal(cur)
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _row_to_event(row: Any) -> CustodyEvent:
    # custody_events' columns are named exactly like CustodyEvent's fields; only the time is text here.
    return CustodyEvent(**{**row._mapping, "at": datetime.fromisoformat(row.at)})


def _row_to_notification(row: Any) -> Notification:
    return Notification(
        id=row.id,
        place_id=row.place_id,
        delivery_id=row.delivery_id,
        at=datetime.fromisoformat(row.at),
        text_zh=row.text_zh,
        text_en=row.text_en,
        read=bool(row.read),
    )


class SqlStore:
    """Repository of deliveries and the custody log. Thread-safe (one engine, pooled connections)."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """Open the store, migrating the schema to the newest revision.

        ``read_only``: for auditors — no migration and no chain head is created, so looking at a
        database never changes the evidence; a database without HallFleet's tables is refused.
        """
        self.url = url
        self.engine = _make_engine(url)
        self._memory_lock = threading.Lock()  # StaticPool shares one connection: serialize use
        self._shared_conn = isinstance(self.engine.pool, StaticPool)
        if read_only:
            self._require_tables()
            return
        with self._tx() as conn:
            upgrade_to_head(conn)
        self._ensure_head()

    def close(self) -> None:
        self.engine.dispose()

    # --- plumbing ---------------------------------------------------------------------------

    def _tx(self) -> Any:
        if not self._shared_conn:
            return self.engine.begin()
        return _LockedBegin(self.engine, self._memory_lock)

    def _require_tables(self) -> None:
        with self._tx() as conn:
            missing = INITIAL_TABLES - set(sa.inspect(conn).get_table_names())
        if missing:
            self.close()
            raise StoreError(
                f"{make_url(self.url).render_as_string(hide_password=True)} is not a HallFleet database "
                f"(missing tables: {', '.join(sorted(missing))})"
            )

    def _ensure_head(self) -> None:
        try:
            with self._tx() as conn:
                if conn.execute(sa.select(custody_head.c.id)).first() is None:
                    conn.execute(custody_head.insert().values(id=_HEAD_ID, seq=0, hash=GENESIS_HASH))
        except IntegrityError:
            pass  # another process created it at the same moment

    # --- deliveries -------------------------------------------------------------------------

    def next_delivery_number(self, day: date) -> int:
        """The next running number for ``day`` (1, 2, ...); never handed out twice."""
        key = day.isoformat()
        for _attempt in range(3):
            try:
                with self._tx() as conn:
                    row = conn.execute(
                        sa.select(delivery_counters.c.last).where(delivery_counters.c.day == key).with_for_update()
                    ).first()
                    if row is None:
                        conn.execute(delivery_counters.insert().values(day=key, last=1))
                        return 1
                    number = row.last + 1
                    conn.execute(delivery_counters.update().where(delivery_counters.c.day == key).values(last=number))
                    return number
            except IntegrityError:
                continue  # two first-of-the-day inserts raced (PostgreSQL); retry sees the row
        raise StoreError(f"could not allocate a delivery number for {key}")

    def next_delivery_id(self, day: date) -> str:
        return format_delivery_id(day, self.next_delivery_number(day))

    def add_delivery(self, d: Delivery, *, custody: CustodyDraft | None = None) -> CustodyEvent | None:
        """Insert a new delivery (and optionally its first custody event, atomically)."""
        try:
            with self._tx() as conn:
                conn.execute(deliveries.insert().values(**self._delivery_row(d)))
                self._append_history(conn, d, already_stored=0)
                return self._append_custody(conn, custody) if custody else None
        except IntegrityError as exc:
            if self.get_delivery(d.id) is not None:
                raise DeliveryExistsError(f"delivery {d.id} already exists") from exc
            raise

    def save_delivery(self, d: Delivery, *, custody: CustodyDraft | None = None) -> CustodyEvent | None:
        """Upsert the delivery and append history entries not yet stored (plus an optional
        custody event in the same transaction, so state and custody log never disagree)."""
        with self._tx() as conn:
            row = self._delivery_row(d)
            exists = conn.execute(sa.select(deliveries.c.id).where(deliveries.c.id == d.id)).first()
            if exists is None:
                conn.execute(deliveries.insert().values(**row))
                stored = 0
            else:
                conn.execute(deliveries.update().where(deliveries.c.id == d.id).values(**row))
                stored = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(delivery_history)
                    .where(delivery_history.c.delivery_id == d.id)
                ).scalar_one()
            if stored > len(d.history):
                raise StoreError(
                    f"delivery {d.id}: store holds {stored} history entries but the object has only "
                    f"{len(d.history)}; history is append-only"
                )
            self._append_history(conn, d, already_stored=stored)
            return self._append_custody(conn, custody) if custody else None

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(deliveries.c.payload).where(deliveries.c.id == delivery_id)).first()
            if row is None:
                return None
            history = self._history_for(conn, [delivery_id])
        return self._from_payload(row.payload, history.get(delivery_id, []))

    def list_deliveries(
        self,
        states: Iterable[DeliveryState | str] | None = None,
        limit: int | None = 200,
        *,
        newest_first: bool = True,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
    ) -> list[Delivery]:
        """Deliveries in the given states, created in [created_from, created_before); no limit: all."""
        q = sa.select(deliveries.c.id, deliveries.c.payload)
        if states is not None:
            q = q.where(deliveries.c.state.in_([DeliveryState(s).value for s in states]))
        # created_at is canonical UTC text of fixed width, so text order is time order.
        if created_from is not None:
            q = q.where(deliveries.c.created_at >= iso_utc(created_from))
        if created_before is not None:
            q = q.where(deliveries.c.created_at < iso_utc(created_before))
        order = deliveries.c.created_at.desc() if newest_first else deliveries.c.created_at.asc()
        q = q.order_by(order, deliveries.c.id)
        if limit is not None:
            q = q.limit(limit)
        with self._tx() as conn:
            rows = conn.execute(q).all()
            history = self._history_for(conn, [r.id for r in rows])
        return [self._from_payload(r.payload, history.get(r.id, [])) for r in rows]

    def deliveries_with_document(self, barcode: str) -> list[Delivery]:
        """Every delivery that carried the document ``barcode`` (oldest first)."""
        # The payload is JSON text: narrow down with LIKE on the JSON-quoted barcode, then check exactly.
        needle = json.dumps(barcode, ensure_ascii=False)
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = (
            sa.select(deliveries.c.id, deliveries.c.payload)
            .where(deliveries.c.payload.like(f"%{escaped}%", escape="\\"))
            .order_by(deliveries.c.created_at, deliveries.c.id)
        )
        with self._tx() as conn:
            rows = [
                r
                for r in conn.execute(q).all()
                if barcode in {doc["barcode"] for doc in json.loads(r.payload)["documents"]}
            ]
            history = self._history_for(conn, [r.id for r in rows])
        return [self._from_payload(r.payload, history.get(r.id, [])) for r in rows]

    @staticmethod
    def _delivery_row(d: Delivery) -> dict[str, Any]:
        return {
            "id": d.id,
            "state": d.state.value,
            "payload": json.dumps(delivery_to_dict(d, with_history=False), ensure_ascii=False, sort_keys=True),
            "robot_id": d.robot_id,
            "created_at": iso_utc(d.created_at),
            "updated_at": iso_utc(d.updated_at),
        }

    @staticmethod
    def _append_history(conn: Connection, d: Delivery, already_stored: int) -> None:
        new = d.history[already_stored:]
        if new:
            conn.execute(
                delivery_history.insert(),
                [
                    {
                        "delivery_id": d.id,
                        "seq": already_stored + i,
                        "at": iso_utc(h.at),
                        "state": h.state.value,
                        "message": h.message,
                    }
                    for i, h in enumerate(new)
                ],
            )

    @staticmethod
    def _history_for(conn: Connection, ids: list[str]) -> dict[str, list[HistoryEntry]]:
        out: dict[str, list[HistoryEntry]] = {}
        if not ids:
            return out
        rows = conn.execute(
            sa.select(delivery_history)
            .where(delivery_history.c.delivery_id.in_(ids))
            .order_by(delivery_history.c.delivery_id, delivery_history.c.seq)
        ).all()
        for r in rows:
            out.setdefault(r.delivery_id, []).append(
                HistoryEntry(datetime.fromisoformat(r.at), DeliveryState(r.state), r.message)
            )
        return out

    @staticmethod
    def _from_payload(payload: str, history: list[HistoryEntry]) -> Delivery:
        d = delivery_from_dict(json.loads(payload))
        d.history = history
        return d

    # --- custody ----------------------------------------------------------------------------

    def append_custody(
        self,
        kind: str,
        delivery_id: str | None,
        actor: str,
        robot_id: str | None,
        compartment_id: int | None,
        place_id: str | None,
        detail: str,
        at: datetime,
    ) -> CustodyEvent:
        """Chain and store one event; the head is read and moved in one locked transaction."""
        draft = CustodyDraft(kind, delivery_id, actor, at, detail, robot_id, compartment_id, place_id)
        with self._tx() as conn:
            return self._append_custody(conn, draft)

    @staticmethod
    def _append_custody(conn: Connection, draft: CustodyDraft) -> CustodyEvent:
        head = conn.execute(
            sa.select(custody_head.c.seq, custody_head.c.hash).where(custody_head.c.id == _HEAD_ID).with_for_update()
        ).one()
        e = chain_after(head.seq, head.hash, draft)
        conn.execute(custody_events.insert().values(**{**event_fields(e), "at": iso_utc(e.at)}))
        conn.execute(custody_head.update().where(custody_head.c.id == _HEAD_ID).values(seq=e.seq, hash=e.hash))
        return e

    def custody_for(self, delivery_id: str) -> list[CustodyEvent]:
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(custody_events)
                .where(custody_events.c.delivery_id == delivery_id)
                .order_by(custody_events.c.seq)
            ).all()
        return [_row_to_event(r) for r in rows]

    def all_custody(self) -> list[CustodyEvent]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(custody_events).order_by(custody_events.c.seq)).all()
        return [_row_to_event(r) for r in rows]

    def custody_records(self) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
        """The raw stored chain (rows as plain dicts, by seq) and its head (seq, hash), read in one
        transaction. Raw, for auditors: a tampered row may not even parse as a CustodyEvent."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(custody_events).order_by(custody_events.c.seq)).all()
            head = conn.execute(
                sa.select(custody_head.c.seq, custody_head.c.hash).where(custody_head.c.id == _HEAD_ID)
            ).first()
        return [dict(r._mapping) for r in rows], (None if head is None else (head.seq, head.hash))

    def verify_custody(self) -> list[str]:
        """Problems in the stored chain (alteration, deletion, reordering); empty when intact."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(custody_events).order_by(custody_events.c.seq)).all()
            head = conn.execute(sa.select(custody_head.c.seq, custody_head.c.hash)).first()
        events = [_row_to_event(r) for r in rows]
        problems = verify_chain(events)
        last_seq, last_hash = (events[-1].seq, events[-1].hash) if events else (0, GENESIS_HASH)
        if head is None:
            problems.append("chain head row is missing")
        elif (head.seq, head.hash) != (last_seq, last_hash):
            problems.append(f"chain head says seq {head.seq} but the newest stored event is seq {last_seq}")
        return problems

    # --- notifications ----------------------------------------------------------------------

    def add_notification(
        self, place_id: str, delivery_id: str | None, text_zh: str, text_en: str, at: datetime
    ) -> Notification:
        with self._tx() as conn:
            result = conn.execute(
                notifications.insert().values(
                    place_id=place_id,
                    delivery_id=delivery_id,
                    at=iso_utc(at),
                    text_zh=text_zh,
                    text_en=text_en,
                    read=False,
                )
            )
            new_id = result.inserted_primary_key[0]
        return Notification(new_id, place_id, delivery_id, datetime.fromisoformat(iso_utc(at)), text_zh, text_en, False)

    def notifications_for(self, place_id: str, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
        """Newest first."""
        q = sa.select(notifications).where(notifications.c.place_id == place_id)
        if unread_only:
            q = q.where(notifications.c.read.is_(False))
        q = q.order_by(notifications.c.at.desc(), notifications.c.id.desc()).limit(limit)
        with self._tx() as conn:
            rows = conn.execute(q).all()
        return [_row_to_notification(r) for r in rows]

    def mark_notification_read(self, notification_id: int) -> bool:
        """True when the notification existed."""
        with self._tx() as conn:
            result = conn.execute(notifications.update().where(notifications.c.id == notification_id).values(read=True))
        return result.rowcount > 0

    # --- trips in progress ------------------------------------------------------------------
    # One row per robot carrying files: what a restarted fleet manager needs to resume the trip.

    def save_run(self, robot_id: str, payload: dict[str, Any]) -> None:
        """Store (replace) the robot's run in progress."""
        row = {
            "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
            "updated_at": iso_utc(datetime.now(UTC)),
        }
        with self._tx() as conn:
            updated = conn.execute(trip_runs.update().where(trip_runs.c.robot_id == robot_id).values(**row)).rowcount
            if not updated:
                conn.execute(trip_runs.insert().values(robot_id=robot_id, **row))

    def delete_run(self, robot_id: str) -> None:
        with self._tx() as conn:
            conn.execute(trip_runs.delete().where(trip_runs.c.robot_id == robot_id))

    def load_runs(self) -> dict[str, dict[str, Any]]:
        """Every stored run in progress: {robot_id: payload}."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(trip_runs.c.robot_id, trip_runs.c.payload)).all()
        return {r.robot_id: json.loads(r.payload) for r in rows}


class _LockedBegin:
    """``engine.begin()`` guarded by a lock, for in-memory SQLite's single shared connection."""

    def __init__(self, engine: Engine, lock: threading.Lock) -> None:
        self._engine, self._lock = engine, lock
        self._cm: Any = None

    def __enter__(self) -> Connection:
        self._lock.acquire()
        try:
            self._cm = self._engine.begin()
            return self._cm.__enter__()
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self._cm.__exit__(*exc)
        finally:
            self._lock.release()
