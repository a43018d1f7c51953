"""``hallfleet audit``: check the chain of custody and show one paper file's journey, for auditors.

Reads the store read-only (no migration, no head row created), so auditing never alters evidence.
The chain is checked from the raw rows: a tampered row may not even parse, and the auditor must
still be told which entry it is. Exit codes: 0 chain whole / file found, 1 chain broken / file not
found, 2 the database cannot be opened or the options are wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from fleet_api.domain.custody import GENESIS_HASH, CustodyEvent, event_hash
from hallfleet.paths import DEFAULT_SITE

if TYPE_CHECKING:
    from fleet_api.adapters.store import SqlStore
    from fleet_api.domain.deliveries import Delivery

audit_app = typer.Typer(help="审计 Audit: chain of custody of the paper files.", no_args_is_help=True)

# The hall is in Shanghai: China Standard Time, UTC+8 all year (no daylight saving).
HALL_TZ = timezone(timedelta(hours=8), "UTC+8")
EXIT_OK, EXIT_FINDING, EXIT_UNUSABLE = 0, 1, 2


class Lang(StrEnum):
    ZH = "zh"  # zh-CN label first, English after it
    EN = "en"


KIND_ZH = {
    "created": "创建",
    "assigned": "已分配机器人",
    "loaded": "装件上锁",
    "departed": "出发",
    "elevator_boarded": "乘电梯",
    "elevator_exited": "出电梯",
    "arrived": "到达",
    "unlocked_by_recipient": "收件人开锁",
    "delivered": "已送达",
    "returned": "退回寄件人",
    "cancelled": "已取消",
    "failed": "失败",
    "alert": "告警",
    "wrong_pin": "密码错误",
    "emergency_stop": "急停",
    "emergency_stop_reset": "急停解除",
}
STATE_ZH = {
    "requested": "已申请",
    "assigned": "已分配",
    "to_pickup": "前往取件",
    "awaiting_load": "等待装件",
    "loaded": "已装件",
    "in_transit": "运送中",
    "awaiting_recipient": "等待收件人",
    "returning": "正在退回寄件人",
    "delivered": "已送达",
    "cancelled": "已取消",
    "returned_to_sender": "已退回寄件人",
    "failed": "失败",
}
PRIORITY_ZH = {"normal": "普通", "urgent": "加急"}


def label(lang: Lang, zh: str, en: str) -> str:
    return f"{zh} {en}" if lang is Lang.ZH else en


# --------------------------------------------------------------------------- chain check (pure)


@dataclass(frozen=True)
class ChainBreak:
    """One place where the stored chain is not what the store wrote."""

    seq: int | None  # the tampered or missing entry (None: the head row itself is gone)
    problem: str  # hash_mismatch | broken_link | gap | unreadable | head_mismatch | head_missing
    what_zh: str
    what_en: str
    delivery_id: str | None = None  # of the named entry, or of its neighbour when the entry is gone
    kind: str | None = None
    neighbour_seq: int | None = None  # set when seq is missing: the surviving entry delivery/kind describe


def _event_from_row(row: dict[str, Any]) -> CustodyEvent:
    """A stored row as an event; ValueError when a field was edited into something unreadable."""
    at = row["at"]
    parsed = datetime.fromisoformat(at) if isinstance(at, str) else at
    if not isinstance(parsed, datetime):
        raise ValueError(f"time {at!r} is not a timestamp")
    return CustodyEvent(**{**row, "at": parsed})


def find_breaks(rows: list[dict[str, Any]], head: tuple[int, str] | None) -> list[ChainBreak]:
    """Every break in the chain, in seq order; the first one is what the auditor must look at."""
    breaks: list[ChainBreak] = []
    expected_seq, prev_seq, prev_hash = 1, 0, GENESIS_HASH
    for row in rows:
        seq, named = row["seq"], {"delivery_id": row["delivery_id"], "kind": row["kind"]}
        if seq > expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
            breaks.append(
                ChainBreak(
                    expected_seq,
                    "gap",
                    f"序号缺失：第 {missing} 条记录被删除（第 {prev_seq} 条之后直接是第 {seq} 条）",
                    f"gap in seq: entry seq {missing} is missing (deleted); seq {prev_seq} is followed by seq {seq}",
                    **named,
                    neighbour_seq=seq,
                )
            )
        elif seq < expected_seq:
            breaks.append(
                ChainBreak(
                    seq,
                    "gap",
                    f"序号异常：应为第 {expected_seq} 条，实为第 {seq} 条",
                    f"gap in seq: expected seq {expected_seq}, found seq {seq}",
                    **named,
                )
            )
        elif row["prev_hash"] != prev_hash:
            breaks.append(
                ChainBreak(
                    seq,
                    "broken_link",
                    f"链接断裂：本条记录的前序哈希与第 {prev_seq} 条的哈希不符（其中一条被改写）",
                    f"broken link: its prev_hash does not match the hash of seq {prev_seq} (one of them was rewritten)",
                    **named,
                )
            )
        try:
            recomputed = event_hash(_event_from_row(row))
        except (TypeError, ValueError) as exc:
            breaks.append(
                ChainBreak(
                    seq,
                    "unreadable",
                    f"记录无法读取（已被篡改）：{exc}",
                    f"entry unreadable (tampered): {exc}",
                    **named,
                )
            )
        else:
            if recomputed != row["hash"]:
                breaks.append(
                    ChainBreak(
                        seq,
                        "hash_mismatch",
                        "哈希不符：记录内容在写入后被修改",
                        "hash mismatch: the stored fields were altered after the entry was written",
                        **named,
                    )
                )
        expected_seq, prev_seq, prev_hash = seq + 1, seq, row["hash"]
    breaks.extend(_head_breaks(rows, head))
    return breaks


def _head_breaks(rows: list[dict[str, Any]], head: tuple[int, str] | None) -> list[ChainBreak]:
    """The head row names the newest entry: deleting or replacing the newest ones shows here."""
    last = rows[-1] if rows else None
    last_seq, last_hash = (last["seq"], last["hash"]) if last else (0, GENESIS_HASH)
    named = {"delivery_id": last["delivery_id"], "kind": last["kind"]} if last else {}
    if head is None:
        return [
            ChainBreak(
                None,
                "head_missing",
                "链头记录缺失：无法确认最新记录是否被删除",
                "chain head row is missing: cannot tell whether the newest entries were deleted",
            )
        ]
    head_seq, head_hash = head
    if head_seq > last_seq:
        missing = f"{last_seq + 1}" if head_seq == last_seq + 1 else f"{last_seq + 1}–{head_seq}"
        return [
            ChainBreak(
                last_seq + 1,
                "gap",
                f"序号缺失：最新的第 {missing} 条记录被删除（链头记录为第 {head_seq} 条）",
                f"gap in seq: newest entry seq {missing} is missing (deleted); the chain head says seq {head_seq}",
                **named,
                neighbour_seq=last_seq if last else None,
            )
        ]
    if head_seq < last_seq:
        extra = next(r for r in rows if r["seq"] > head_seq)
        return [
            ChainBreak(
                extra["seq"],
                "head_mismatch",
                f"第 {extra['seq']} 条记录在链头（第 {head_seq} 条）之后：并非由系统写入",
                f"entry seq {extra['seq']} lies beyond the chain head (seq {head_seq}): not written by the store",
                delivery_id=extra["delivery_id"],
                kind=extra["kind"],
            )
        ]
    if head_hash != last_hash:
        return [
            ChainBreak(
                last_seq,
                "head_mismatch",
                "最新记录的哈希与链头不符：该记录被替换",
                "the newest entry's hash differs from the chain head's: the entry was replaced",
                **named,
            )
        ]
    return []


# --------------------------------------------------------------------------- database access


def database_url(data_dir: Path | None, db_url: str | None) -> str:
    """The URL the fleet manager uses for these options (same default data dir and file name)."""
    if data_dir is not None and db_url is not None:
        _fail("give either --data-dir or --db-url, not both")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from fleet_api.settings import Settings

    settings = Settings(data_dir=data_dir or Settings().data_dir, database_url=db_url)
    try:
        make_url(settings.effective_database_url)
    except ArgumentError:
        _fail(
            f"--db-url {db_url!r} is not a database URL; e.g. postgresql+psycopg://user@127.0.0.1/hallfleet "
            "or sqlite:////path/to/hallfleet.db"
        )
    return settings.effective_database_url


def _fail(message: str) -> NoReturn:
    typer.echo(f"错误 error: {message}", err=True)
    raise typer.Exit(EXIT_UNUSABLE)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_store(url: str) -> SqlStore:
    """The store read-only; a missing SQLite file is an error, never silently created empty."""
    # Imported here: SQLAlchemy and Alembic would slow down every other hallfleet command's start.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from fleet_api.adapters.store import SqlStore, StoreError

    shown = _shown(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or parsed.database == ":memory:" or not path.is_file():
            _fail(f"no HallFleet database file at {path} (from {shown}); give --data-dir DIR or --db-url URL")
    try:
        return SqlStore(url, read_only=True)
    except StoreError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"cannot read {shown}: {type(exc).__name__}: {str(exc).splitlines()[0]}")


DataDirOpt = Annotated[
    Optional[Path], typer.Option("--data-dir", help="fleet data folder holding hallfleet.db (default: data)")
]
DbUrlOpt = Annotated[
    Optional[str], typer.Option("--db-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@127.0.0.1/hallfleet")
]
LangOpt = Annotated[Lang, typer.Option("--lang", help="zh: 中文在前附英文 (default); en: English only")]


# --------------------------------------------------------------------------- verify


def _entry_name(lang: Lang, b: ChainBreak) -> str:
    seq = "?" if b.seq is None else str(b.seq)
    parts = [f"seq {seq}"]
    if b.neighbour_seq is not None:
        side = ("其后一条", "next entry") if b.neighbour_seq > (b.seq or 0) else ("其前一条", "previous entry")
        parts = [f"seq {seq} ({label(lang, '缺失', 'missing')})", f"{label(lang, *side)} seq {b.neighbour_seq}"]
    if b.delivery_id is not None or b.kind is not None:
        parts.append(f"{label(lang, '递送单', 'delivery')} {b.delivery_id or '-'}")
        kind = b.kind or "?"
        parts.append(
            f"{label(lang, '类型', 'kind')} {kind}"
            + (f" ({KIND_ZH[kind]})" if lang is Lang.ZH and kind in KIND_ZH else "")
        )
    return " · ".join(parts)


def _what(lang: Lang, b: ChainBreak) -> str:
    return f"{b.what_zh} / {b.what_en}" if lang is Lang.ZH else b.what_en


@audit_app.command("verify")
def verify(data_dir: DataDirOpt = None, db_url: DbUrlOpt = None, lang: LangOpt = Lang.ZH) -> None:
    """检查托管链 Check the whole chain of custody; name the first tampered or missing entry."""
    from sqlalchemy.exc import SQLAlchemyError

    url = database_url(data_dir, db_url)
    store = open_store(url)
    try:
        rows, head = store.custody_records()
    except SQLAlchemyError as exc:
        _fail(f"cannot read the custody log: {str(exc).splitlines()[0]}")
    finally:
        store.close()
    shown = _shown(url)
    breaks = find_breaks(rows, head)
    if not breaks:
        head_hash = head[1] if head else GENESIS_HASH
        typer.echo(
            f"{label(lang, '托管链完整', 'Chain of custody intact')}: {len(rows)} "
            f"{label(lang, '条记录', 'entries')}, {label(lang, '链头哈希', 'head hash')} {head_hash[:16]}… ({shown})"
        )
        raise typer.Exit(EXIT_OK)
    first, rest = breaks[0], breaks[1:]
    typer.echo(
        f"{label(lang, '托管链已被破坏', 'Chain of custody BROKEN')} ({shown}, {len(rows)} {label(lang, '条记录', 'entries')})"
    )
    typer.echo(f"{label(lang, '首个问题', 'First problem')}: {_entry_name(lang, first)}")
    typer.echo(f"  {_what(lang, first)}")
    if rest:
        typer.echo(f"{label(lang, '其后还有问题', 'Further problems')} ({len(rest)}):")
        for b in rest:
            typer.echo(f"  - {_entry_name(lang, b)}: {b.what_zh if lang is Lang.ZH else b.what_en}")
    raise typer.Exit(EXIT_FINDING)


# --------------------------------------------------------------------------- show


class _Places:
    """Place names from the site model; bare ids when the site cannot be loaded."""

    def __init__(self, site_dir: Path) -> None:
        from maps.site import SiteError, load_site

        try:
            self._site: Any = load_site(site_dir)
        except (SiteError, OSError) as exc:
            typer.echo(f"警告 warning: site {site_dir} not loaded ({exc}); showing place ids only", err=True)
            self._site = None

    def name(self, lang: Lang, place_id: str | None) -> str:
        if not place_id:
            return "-"
        try:
            place = self._site.place(place_id) if self._site else None
        except KeyError:
            place = None
        if place is None:
            return place_id
        return f"{place.name_zh if lang is Lang.ZH else place.name_en} ({place_id})"


def _local(at: datetime) -> str:
    return at.astimezone(HALL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _print_delivery(lang: Lang, d: Delivery, events: list[CustodyEvent], places: _Places, broken: set[int]) -> None:
    state = d.state.value
    priority = f"{PRIORITY_ZH.get(d.priority, d.priority)} {d.priority}" if lang is Lang.ZH else d.priority
    state_text = f"{STATE_ZH.get(state, state)} {state}" if lang is Lang.ZH else state
    typer.echo(
        f"{label(lang, '递送单', 'Delivery')} {d.id} · {priority} · {label(lang, '状态', 'state')}: {state_text}"
    )
    typer.echo(f"  {label(lang, '寄件', 'From')}: {places.name(lang, d.sender.place_id)} · {d.sender.person}")
    typer.echo(f"  {label(lang, '收件', 'To')}: {places.name(lang, d.recipient.place_id)} · {d.recipient.person}")
    docs = "; ".join(f"{doc.barcode} {doc.title}" for doc in d.documents)
    typer.echo(f"  {label(lang, '文件', 'Documents')}: {docs}")
    if d.failure_reason:
        typer.echo(f"  {label(lang, '失败原因', 'Failure reason')}: {d.failure_reason}")
    if not events:
        typer.echo(f"  ({label(lang, '无托管记录', 'no custody entries')})")
    for e in sorted(events, key=lambda e: (e.at, e.seq)):
        kind = f"{KIND_ZH.get(e.kind, e.kind)} {e.kind}" if lang is Lang.ZH else e.kind
        mark = f"  ⚠ {label(lang, '该记录未通过校验', 'entry fails verification')}" if e.seq in broken else ""
        typer.echo(f"  {_local(e.at)} UTC+8  seq {e.seq}  {kind}{mark}")
        who = [
            f"{label(lang, '经手人', 'who')}: {e.actor}",
            f"{label(lang, '地点', 'where')}: {places.name(lang, e.place_id)}",
        ]
        if e.robot_id:
            robot = f"{label(lang, '机器人', 'robot')}: {e.robot_id}"
            if e.compartment_id is not None:
                robot += f" {label(lang, '格口', 'compartment')} {e.compartment_id}"
            who.append(robot)
        typer.echo("      " + " · ".join(who))
        if e.detail:
            typer.echo(f"      {label(lang, '说明', 'detail')}: {e.detail}")


def _events_by_delivery(rows: list[dict[str, Any]], ids: set[str]) -> dict[str, list[CustodyEvent]]:
    """The readable entries of these deliveries (an unreadable one is reported by the chain check)."""
    out: dict[str, list[CustodyEvent]] = {i: [] for i in ids}
    for row in rows:
        if row["delivery_id"] in out:
            try:
                out[row["delivery_id"]].append(_event_from_row(row))
            except (TypeError, ValueError):
                continue
    return out


@audit_app.command("show")
def show(
    document: Annotated[
        str,
        typer.Argument(help="文件条码/编号 a document's barcode or file number, or a delivery id (D-YYYYMMDD-NNNN)"),
    ],
    data_dir: DataDirOpt = None,
    db_url: DbUrlOpt = None,
    lang: LangOpt = Lang.ZH,
    site: Annotated[Path, typer.Option("--site", help="site folder for place names")] = DEFAULT_SITE,
) -> None:
    """显示文件流转 Print one paper file's whole journey: who, where, what, in time order."""
    if not document.strip():
        _fail("the document argument is empty: give a barcode/file number or a delivery id")
    from sqlalchemy.exc import SQLAlchemyError

    url = database_url(data_dir, db_url)
    store = open_store(url)
    try:
        by_id = store.get_delivery(document)
        found = [by_id] if by_id is not None else store.deliveries_with_document(document)
        rows, head = store.custody_records() if found else ([], None)
    except SQLAlchemyError as exc:
        _fail(f"cannot read the store: {str(exc).splitlines()[0]}")
    finally:
        store.close()
    if not found:
        shown = _shown(url)
        typer.echo(
            f"{label(lang, '未找到', 'Not found')}: {label(lang, '没有条码或递送单号为', 'no document barcode or delivery id')} "
            f"{document!r} ({shown})",
            err=True,
        )
        raise typer.Exit(EXIT_FINDING)
    breaks = find_breaks(rows, head)
    broken = {b.seq for b in breaks if b.seq is not None}
    events = _events_by_delivery(rows, {d.id for d in found})
    places = _Places(site)
    if by_id is None:
        titles = {doc.title for d in found for doc in d.documents if doc.barcode == document}
        typer.echo(
            f"{label(lang, '文件', 'Document')} {document} 「{' / '.join(sorted(titles))}」: "
            f"{len(found)} {label(lang, '次递送', 'delivery(ies)')}"
        )
    for d in found:
        typer.echo("")
        _print_delivery(lang, d, events[d.id], places, broken)
    typer.echo("")
    if breaks:
        typer.echo(
            f"⚠ {label(lang, '托管链已被破坏，首个问题', 'Chain of custody broken, first problem')}: "
            f"{_entry_name(lang, breaks[0])} — {label(lang, '请运行', 'run')} hallfleet audit verify"
        )
    else:
        typer.echo(
            f"{label(lang, '托管链完整', 'Chain of custody intact')} ({len(rows)} {label(lang, '条记录', 'entries')})"
        )
