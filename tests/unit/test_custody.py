"""Hash-chained custody log: building the chain and detecting tampering (pure logic)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from fleet_api.domain.custody import GENESIS_HASH, CustodyError, CustodyEvent, chain, verify_chain

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
KINDS = [
    "created",
    "assigned",
    "loaded",
    "departed",
    "elevator_boarded",
    "arrived",
    "unlocked_by_recipient",
    "delivered",
]


def build(n: int = 8) -> list[CustodyEvent]:
    events: list[CustodyEvent] = []
    prev = None
    for i in range(n):
        prev = chain(
            prev,
            kind=KINDS[i % len(KINDS)],
            delivery_id=f"D-20261129-000{1 + i % 2}",
            actor="clerk-wang" if i % 3 == 0 else "dr-01",
            robot_id="dr-01",
            compartment_id=2,
            place_id="window-3",
            at=T0 + timedelta(seconds=i),
            detail=f"step {i} 第{i}步",
        )
        events.append(prev)
    return events


def test_chain_links_from_genesis_with_consecutive_seq() -> None:
    events = build()
    assert events[0].seq == 1 and events[0].prev_hash == GENESIS_HASH
    assert [e.seq for e in events] == list(range(1, 9))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    assert len({e.hash for e in events}) == len(events)
    assert verify_chain(events) == []
    assert verify_chain([]) == []


def test_times_are_normalised_to_utc_and_hash_is_offset_independent() -> None:
    shanghai = timezone(timedelta(hours=8))
    a = chain(None, kind="created", delivery_id="D-1", actor="c", at=T0)
    b = chain(None, kind="created", delivery_id="D-1", actor="c", at=T0.astimezone(shanghai))
    assert b.at.utcoffset() == timedelta(0) and a.hash == b.hash


def test_altered_field_is_detected_at_its_seq() -> None:
    events = build()
    events[3] = dataclasses.replace(events[3], place_id="somewhere-else")
    assert verify_chain(events) == ["hash mismatch at seq 4: stored fields were altered"]


def test_altered_and_rehashed_event_breaks_the_next_link() -> None:
    events = build()
    forged = chain(events[2], kind="delivered", delivery_id="D-x", actor="mallory", at=T0)
    events[3] = forged
    problems = verify_chain(events)
    assert problems == ["broken link at seq 5: prev_hash does not match the preceding event's hash"]


def test_deleted_event_is_detected() -> None:
    events = build()
    del events[4]
    problems = verify_chain(events)
    assert "gap in seq: expected 5, found 6" in problems
    assert any(p.startswith("broken link at seq 6") for p in problems)


def test_deleted_first_event_is_detected() -> None:
    problems = verify_chain(build()[1:])
    assert "gap in seq: expected 1, found 2" in problems
    assert any(p.startswith("broken link at seq 2") for p in problems)


def test_reordered_events_are_detected() -> None:
    events = build()
    events[2], events[3] = events[3], events[2]
    problems = verify_chain(events)
    assert any("broken link at seq 4" in p for p in problems)
    assert any("gap in seq" in p for p in problems)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"kind": "", "actor": "a", "at": T0}, "kind is empty"),
        ({"kind": "loaded", "actor": " ", "at": T0}, "actor is empty"),
        ({"kind": "loaded", "actor": "a", "at": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_incomplete_events_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(CustodyError, match=message):
        chain(None, delivery_id="D-1", **kwargs)
