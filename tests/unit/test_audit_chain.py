"""The auditor's chain check on stored rows: which entry is named first, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleet_api.domain.custody import CustodyEvent, chain, event_fields, iso_utc
from hallfleet_apps.cli_audit import find_breaks

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _rows(n: int) -> list[dict]:
    events: list[CustodyEvent] = []
    for i in range(n):
        events.append(
            chain(
                events[-1] if events else None,
                kind="arrived",
                delivery_id=f"D-{i % 2}",
                actor="dr-01",
                at=T0 + timedelta(seconds=i),
                place_id=f"p-{i}",
            )
        )
    return [{**event_fields(e), "at": iso_utc(e.at)} for e in events]


def _head(rows: list[dict]) -> tuple[int, str]:
    return rows[-1]["seq"], rows[-1]["hash"]


def test_intact_chain_and_empty_chain_have_no_breaks() -> None:
    rows = _rows(4)
    assert find_breaks(rows, _head(rows)) == []
    assert find_breaks([], (0, "0" * 64)) == []


def test_first_break_is_the_altered_entry_even_when_later_ones_are_altered_too() -> None:
    rows = _rows(5)
    head = _head(rows)
    rows[1]["actor"] = "someone"
    rows[3]["detail"] = "edited"
    breaks = find_breaks(rows, head)
    assert [(b.seq, b.problem, b.delivery_id) for b in breaks] == [
        (2, "hash_mismatch", "D-1"),
        (4, "hash_mismatch", "D-1"),
    ]


def test_missing_head_row_and_rows_beyond_the_head_are_named() -> None:
    rows = _rows(3)
    assert [b.problem for b in find_breaks(rows, None)] == ["head_missing"]
    beyond = find_breaks(rows, (2, rows[1]["hash"]))
    assert [(b.seq, b.problem) for b in beyond] == [(3, "head_mismatch")]


def test_replaced_newest_entry_with_a_valid_hash_is_caught_by_the_head() -> None:
    rows = _rows(3)
    head = _head(rows)
    event = CustodyEvent(**{**rows[2], "at": datetime.fromisoformat(rows[2]["at"])})
    forged = chain(
        CustodyEvent(**{**rows[1], "at": datetime.fromisoformat(rows[1]["at"])}),
        kind=event.kind,
        delivery_id=event.delivery_id,
        actor="forger",
        at=event.at,
    )
    rows[2] = {**event_fields(forged), "at": iso_utc(forged.at)}
    breaks = find_breaks(rows, head)
    assert [(b.seq, b.problem) for b in breaks] == [(3, "head_mismatch")]
    assert "replaced" in breaks[0].what_en
