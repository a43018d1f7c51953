"""``hallfleet audit verify|show`` as a user runs them, on a SQLite file and on PostgreSQL.

The chain is written through the real store, then edited behind its back with plain SQL; the
real ``hallfleet`` executable must name the edited or missing entry and exit non-zero.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg_database import postgres_database_url

from fleet_api.adapters.store import SqlStore
from fleet_api.domain.custody import CustodyDraft, compute_hash
from fleet_api.domain.deliveries import DeliveryState, Document, Party, assign, new_delivery, transition

pytestmark = pytest.mark.integration

HALLFLEET = Path(sys.executable).parent / "hallfleet"
CLI_TIMEOUT_S = 60.0
T0 = datetime(2026, 11, 29, 9, 0, 0, tzinfo=UTC)  # 17:00 in Shanghai
D1, D2 = "D-20261129-0001", "D-20261129-0002"


@dataclass
class Hall:
    url: str
    args: list[str]  # how the CLI is told where the database is


@pytest.fixture(params=["sqlite", "postgresql"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hall]:
    if request.param == "sqlite":
        data_dir = tmp_path / "data"
        url = f"sqlite:///{data_dir / 'hallfleet.db'}"  # the fleet manager's file name in its data dir
        args = ["--data-dir", str(data_dir)]
    else:
        url = next(pg := postgres_database_url("hallfleet_audit"))
        args = ["--db-url", url]
    store = SqlStore(url)
    try:
        _record_two_deliveries(store)
    finally:
        store.close()
    yield Hall(url, args)
    if request.param == "postgresql":
        pg.close()  # drops the database


def _record_two_deliveries(store: SqlStore) -> None:
    """Seq 1-7: D1 goes all the way (licence application to market regulation); seq 8-9: D2 starts."""
    d1 = new_delivery(
        D1,
        Party("win-A01", "王科员"),
        Party("dept-market", "李科长"),
        [Document("BC-001", "营业执照申请表"), Document("BC-002", "身份证复印件")],
        "urgent",
        "",
        T0,
        "123456",
    )
    at = iter(T0 + timedelta(minutes=m) for m in range(100))
    store.add_delivery(
        d1, custody=CustodyDraft("created", D1, "王科员", next(at), "2 document(s): BC-001, BC-002", place_id="win-A01")
    )
    assign(d1, "dr-01", 1, next(at))
    store.save_delivery(
        d1, custody=CustodyDraft("assigned", D1, "fleet", next(at), "robot dr-01 compartment 1", "dr-01", 1)
    )
    for state, kind, actor, place, when in [
        (DeliveryState.TO_PICKUP, None, None, None, next(at)),
        (DeliveryState.AWAITING_LOAD, None, None, None, next(at)),
        (DeliveryState.LOADED, "loaded", "王科员", "win-A01", next(at)),
        (DeliveryState.IN_TRANSIT, "departed", "dr-01", "win-A01", next(at)),
        (DeliveryState.AWAITING_RECIPIENT, "arrived", "dr-01", "dept-market", next(at)),
        (DeliveryState.DELIVERED, "delivered", "李科长", "dept-market", next(at)),
    ]:
        transition(d1, state, when, state.value)
        draft = CustodyDraft(kind, D1, actor, when, "", "dr-01", 1, place) if kind else None
        store.save_delivery(d1, custody=draft)
    store.append_custody("unlocked_by_recipient", D1, "李科长", "dr-01", 1, "dept-market", "", next(at))
    d2 = new_delivery(
        D2,
        Party("dept-social", "张科员"),
        Party("win-B02", "赵科员"),
        [Document("BC-777", "低保审批表")],
        "normal",
        "",
        next(at),
        "654321",
    )
    store.add_delivery(
        d2, custody=CustodyDraft("created", D2, "张科员", next(at), "1 document(s): BC-777", place_id="dept-social")
    )
    store.append_custody("cancelled", D2, "张科员", None, None, None, "", next(at))


def _hallfleet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HALLFLEET), *args], capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)


def _tamper(url: str, sql: str, **params: object) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text(sql), params).rowcount == 1, sql
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------- verify


def test_intact_chain_exits_zero(hall: Hall) -> None:
    result = _hallfleet("audit", "verify", *hall.args, "--lang", "en")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Chain of custody intact: 9 entries" in result.stdout


def test_altered_field_is_named_by_seq_delivery_and_kind(hall: Hall) -> None:
    _tamper(hall.url, "UPDATE custody_events SET actor = '某人' WHERE seq = 3")  # who loaded the files
    result = _hallfleet("audit", "verify", *hall.args, "--lang", "en")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"First problem: seq 3 · delivery {D1} · kind loaded" in result.stdout
    assert "hash mismatch" in result.stdout


def test_deleted_entry_is_reported_as_a_gap_at_its_seq(hall: Hall) -> None:
    _tamper(hall.url, "DELETE FROM custody_events WHERE seq = 5")
    result = _hallfleet("audit", "verify", *hall.args, "--lang", "en")
    assert result.returncode == 1, result.stdout + result.stderr
    first = result.stdout.split("First problem: ", 1)[1].splitlines()
    assert first[0] == f"seq 5 (missing) · next entry seq 6 · delivery {D1} · kind delivered"
    assert "gap in seq: entry seq 5 is missing (deleted); seq 4 is followed by seq 6" in first[1]


def test_deleted_newest_entry_is_caught_by_the_chain_head(hall: Hall) -> None:
    _tamper(hall.url, "DELETE FROM custody_events WHERE seq = 9")
    result = _hallfleet("audit", "verify", *hall.args, "--lang", "en")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"First problem: seq 9 (missing) · previous entry seq 8 · delivery {D2} · kind created" in result.stdout
    assert "newest entry seq 9 is missing (deleted); the chain head says seq 9" in result.stdout


def test_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link(hall: Hall) -> None:
    engine = sa.create_engine(hall.url)
    try:
        with engine.connect() as conn:
            row = dict(conn.execute(sa.text("SELECT * FROM custody_events WHERE seq = 2")).mappings().one())
    finally:
        engine.dispose()
    row["robot_id"] = "dr-99"
    fields = {k: v for k, v in row.items() if k != "hash"}
    new_hash = compute_hash(**{**fields, "at": datetime.fromisoformat(row["at"])})
    _tamper(hall.url, "UPDATE custody_events SET robot_id = 'dr-99', hash = :h WHERE seq = 2", h=new_hash)
    result = _hallfleet("audit", "verify", *hall.args, "--lang", "en")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"First problem: seq 3 · delivery {D1} · kind loaded" in result.stdout
    assert "broken link: its prev_hash does not match the hash of seq 2" in result.stdout


def test_unreadable_time_is_reported_not_a_traceback(hall: Hall) -> None:
    _tamper(hall.url, "UPDATE custody_events SET at = 'yesterday' WHERE seq = 7")
    result = _hallfleet("audit", "verify", *hall.args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "托管链已被破坏" in result.stdout and "Chain of custody BROKEN" in result.stdout
    assert f"seq 7 · 递送单 delivery {D1} · 类型 kind unlocked_by_recipient (收件人开锁)" in result.stdout
    assert "'yesterday'" in result.stdout


# --------------------------------------------------------------------------------------- show


def test_show_prints_a_documents_journey_in_time_order(hall: Hall) -> None:
    result = _hallfleet("audit", "show", "BC-002", *hall.args)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "文件 Document BC-002 「身份证复印件」" in out
    assert f"递送单 Delivery {D1} · 加急 urgent · 状态 state: 已送达 delivered" in out
    assert "A区 综合受理窗口 A01 (win-A01) · 王科员" in out and "市场监管审批科 (dept-market) · 李科长" in out
    kinds = [
        "创建 created",
        "已分配机器人 assigned",
        "装件上锁 loaded",
        "出发 departed",
        "到达 arrived",
        "已送达 delivered",
        "收件人开锁 unlocked_by_recipient",
    ]
    journey = out[out.index("seq 1 ") :]
    positions = [journey.index(k) for k in kinds]
    assert positions == sorted(positions)
    assert "2026-11-29 17:00:00 UTC+8  seq 1  创建 created" in out
    assert (
        "经手人 who: 王科员 · 地点 where: A区 综合受理窗口 A01 (win-A01) · 机器人 robot: dr-01 格口 compartment 1"
        in out
    )
    assert D2 not in out and "BC-777" not in out
    assert "托管链完整 Chain of custody intact (9 条记录 entries)" in out


def test_show_in_english_by_delivery_id_and_warns_about_a_broken_chain(hall: Hall) -> None:
    _tamper(hall.url, "UPDATE custody_events SET place_id = 'win-A02' WHERE seq = 8")
    result = _hallfleet("audit", "show", D2, *hall.args, "--lang", "en")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"Delivery {D2} · normal · state: requested" in out
    assert "From: Social Affairs Approval Section (dept-social) · 张科员" in out
    assert "seq 8  created  ⚠ entry fails verification" in out
    assert f"Chain of custody broken, first problem: seq 8 · delivery {D2} · kind created" in out
    assert "营业执照" not in out and D1 not in out


def test_show_unknown_document_exits_non_zero(hall: Hall) -> None:
    result = _hallfleet("audit", "show", "BC-404", *hall.args, "--lang", "en")
    assert result.returncode == 1
    assert "no document barcode or delivery id 'BC-404'" in result.stderr


# ----------------------------------------------------------------------------------- bad input


def test_missing_database_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    result = _hallfleet("audit", "verify", "--data-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert f"no HallFleet database file at {tmp_path / 'nowhere' / 'hallfleet.db'}" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_data_dir_and_db_url_together_are_refused(tmp_path: Path) -> None:
    result = _hallfleet("audit", "verify", "--data-dir", str(tmp_path), "--db-url", "sqlite:///x.db")
    assert result.returncode == 2
    assert "give either --data-dir or --db-url, not both" in result.stderr


def test_malformed_db_url_is_explained() -> None:
    result = _hallfleet("audit", "verify", "--db-url", "hallfleet.db")
    assert result.returncode == 2
    assert "--db-url 'hallfleet.db' is not a database URL" in result.stderr and "Traceback" not in result.stderr
