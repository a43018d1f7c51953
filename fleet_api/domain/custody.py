"""Hash-chained custody log: who held which delivery's files, where and when.

One global chain for the whole hall: each event's hash covers its own fields and the previous
event's hash, so altering, deleting or reordering any stored event is detectable by
:func:`verify_chain`. Pure logic; the SQL store persists the events.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

# Kinds the fleet records; the log accepts others (it must never refuse to record a fact).
KNOWN_KINDS = frozenset(
    {
        "created",
        "assigned",
        "loaded",
        "departed",
        "elevator_boarded",
        "elevator_exited",
        "arrived",
        "unlocked_by_recipient",
        "delivered",
        "returned",
        "cancelled",
        "failed",
        "alert",
        # return to sender, absent recipient, PINs at the robot
        "returning",
        "unlocked_by_sender",
        "recipient_absent",
        "renotified",
        "alternate_named",
        "wrong_pin",
        "unlock_refused",
    }
)


class CustodyError(ValueError):
    """A custody event cannot be built (naive timestamp, empty kind or actor)."""


@dataclass(frozen=True)
class CustodyDraft:
    """An event not yet chained: what the caller knows before the store assigns seq and hashes."""

    kind: str
    delivery_id: str | None
    actor: str
    at: datetime
    detail: str = ""
    robot_id: str | None = None
    compartment_id: int | None = None
    place_id: str | None = None


@dataclass(frozen=True)
class CustodyEvent:
    seq: int
    delivery_id: str | None
    kind: str
    actor: str
    robot_id: str | None
    compartment_id: int | None
    place_id: str | None
    at: datetime
    detail: str
    prev_hash: str
    hash: str


def iso_utc(at: datetime) -> str:
    """Canonical time text: UTC, microseconds, '+00:00' suffix."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_hash(
    *,
    seq: int,
    delivery_id: str | None,
    kind: str,
    actor: str,
    robot_id: str | None,
    compartment_id: int | None,
    place_id: str | None,
    at: datetime,
    detail: str,
    prev_hash: str,
) -> str:
    """sha256 hex over the canonical JSON of every field except the hash itself."""
    return hashlib.sha256(
        _canonical(
            {
                "seq": seq,
                "delivery_id": delivery_id,
                "kind": kind,
                "actor": actor,
                "robot_id": robot_id,
                "compartment_id": compartment_id,
                "place_id": place_id,
                "at": iso_utc(at),
                "detail": detail,
                "prev_hash": prev_hash,
            }
        )
    ).hexdigest()


def event_fields(e: CustodyEvent) -> dict[str, Any]:
    """Every field of ``e`` by name (shallow; ``at`` stays a datetime): one list for hashing and storing."""
    return {f.name: getattr(e, f.name) for f in dataclasses.fields(CustodyEvent)}


def event_hash(e: CustodyEvent) -> str:
    hashed = event_fields(e)
    del hashed["hash"]
    return compute_hash(**hashed)


def chain(
    prev: CustodyEvent | None,
    *,
    kind: str,
    delivery_id: str | None,
    actor: str,
    at: datetime,
    detail: str = "",
    robot_id: str | None = None,
    compartment_id: int | None = None,
    place_id: str | None = None,
) -> CustodyEvent:
    """The event following ``prev`` (``None``: the genesis event, seq 1)."""
    return chain_after(
        prev.seq if prev else 0,
        prev.hash if prev else GENESIS_HASH,
        CustodyDraft(kind, delivery_id, actor, at, detail, robot_id, compartment_id, place_id),
    )


def chain_after(prev_seq: int, prev_hash: str, draft: CustodyDraft) -> CustodyEvent:
    """Chain ``draft`` after the head (seq, hash) — what the store holds under its lock."""
    if not draft.kind.strip():
        raise CustodyError("custody event kind is empty")
    if not draft.actor.strip():
        raise CustodyError(f"custody event {draft.kind!r}: actor is empty")
    if draft.at.tzinfo is None or draft.at.utcoffset() is None:
        raise CustodyError(f"custody event {draft.kind!r}: time must be timezone-aware, got {draft.at.isoformat()}")
    at = draft.at.astimezone(UTC)
    fields: dict[str, Any] = dict(
        seq=prev_seq + 1,
        delivery_id=draft.delivery_id,
        kind=draft.kind,
        actor=draft.actor,
        robot_id=draft.robot_id,
        compartment_id=draft.compartment_id,
        place_id=draft.place_id,
        at=at,
        detail=draft.detail,
        prev_hash=prev_hash,
    )
    return CustodyEvent(**fields, hash=compute_hash(**fields))


def verify_chain(events: Iterable[CustodyEvent]) -> list[str]:
    """Problems found walking the chain in the given order (seq 1 first); empty when intact."""
    problems: list[str] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for e in events:
        if e.seq != expected_seq:
            problems.append(f"gap in seq: expected {expected_seq}, found {e.seq}")
        if e.prev_hash != prev_hash:
            problems.append(f"broken link at seq {e.seq}: prev_hash does not match the preceding event's hash")
        if event_hash(e) != e.hash:
            problems.append(f"hash mismatch at seq {e.seq}: stored fields were altered")
        expected_seq = e.seq + 1
        prev_hash = e.hash
    return problems
