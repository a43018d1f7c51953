"""Document deliveries: the lifecycle state machine and its validation rules.

Pure domain logic (no I/O). A delivery moves through the states below; every move is checked
against one explicit table so an impossible move (e.g. cancelling after the files are locked in a
compartment — that must become a return to the sender) is refused with a clear message. Once loaded,
the files only ever leave the robot at the destination (delivered) or back at the sender (returned):
``returning`` lasts until the sender has taken them out with their PIN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal, get_args

from fleet_api.domain.pins import hash_pin

Priority = Literal["normal", "urgent"]
PRIORITIES: tuple[str, ...] = get_args(Priority)


class DeliveryState(StrEnum):
    REQUESTED = "requested"
    ASSIGNED = "assigned"
    TO_PICKUP = "to_pickup"
    AWAITING_LOAD = "awaiting_load"
    LOADED = "loaded"
    IN_TRANSIT = "in_transit"
    AWAITING_RECIPIENT = "awaiting_recipient"
    RETURNING = "returning"  # on the way back to the sender, files still locked in
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED_TO_SENDER = "returned_to_sender"
    FAILED = "failed"


S = DeliveryState
TERMINAL_STATES: frozenset[DeliveryState] = frozenset({S.DELIVERED, S.CANCELLED, S.RETURNED_TO_SENDER, S.FAILED})

# Before the files are loaded a delivery can be cancelled or handed back to the scheduler
# (robot lost: -> requested); once loaded, "cancel" means bringing the files back to the sender.
LEGAL_TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    S.REQUESTED: frozenset({S.ASSIGNED, S.CANCELLED, S.FAILED}),
    S.ASSIGNED: frozenset({S.TO_PICKUP, S.CANCELLED, S.FAILED, S.REQUESTED}),
    S.TO_PICKUP: frozenset({S.AWAITING_LOAD, S.CANCELLED, S.FAILED, S.REQUESTED}),
    S.AWAITING_LOAD: frozenset({S.LOADED, S.CANCELLED, S.FAILED}),
    S.LOADED: frozenset({S.IN_TRANSIT, S.RETURNING, S.FAILED}),
    S.IN_TRANSIT: frozenset({S.AWAITING_RECIPIENT, S.RETURNING, S.FAILED}),
    S.AWAITING_RECIPIENT: frozenset({S.DELIVERED, S.RETURNING, S.FAILED}),
    S.RETURNING: frozenset({S.RETURNED_TO_SENDER, S.FAILED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
    S.RETURNED_TO_SENDER: frozenset(),
    S.FAILED: frozenset(),
}

# States in which the files are locked in a robot: a cancel there turns the robot back to the sender.
CARRIED_STATES: frozenset[DeliveryState] = frozenset({S.LOADED, S.IN_TRANSIT, S.AWAITING_RECIPIENT})

# States in which no robot holds the delivery (robot/compartment are cleared on entry).
_UNASSIGNED_STATES = frozenset({S.REQUESTED})


class DeliveryValidationError(ValueError):
    """A delivery request is malformed (no documents, empty barcode, same place at both ends ...)."""


class IllegalTransition(Exception):
    """A state change the lifecycle table does not allow (HTTP layer: 409 Conflict)."""

    def __init__(self, delivery_id: str, current: DeliveryState, requested: DeliveryState) -> None:
        self.delivery_id = delivery_id
        self.current = current
        self.requested = requested
        super().__init__(f"delivery {delivery_id}: cannot go from {current.value} to {requested.value}")


@dataclass
class Document:
    barcode: str
    title: str


@dataclass
class Party:
    place_id: str
    person: str


@dataclass
class HistoryEntry:
    at: datetime
    state: DeliveryState
    message: str


@dataclass
class Notification:
    """A message for the people at a place (e.g. "files for you arrive in 3 minutes")."""

    id: int
    place_id: str
    delivery_id: str | None
    at: datetime
    text_zh: str
    text_en: str
    read: bool = False


@dataclass
class Delivery:
    id: str
    sender: Party
    recipient: Party
    documents: list[Document]
    priority: Priority
    note: str
    state: DeliveryState
    sender_pin_hash: str
    created_at: datetime
    updated_at: datetime
    robot_id: str | None = None
    compartment_id: int | None = None
    recipient_pin_hash: str | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    failure_reason: str | None = None
    alternate_person: str | None = None  # named by a clerk when the recipient is absent; holds the current PIN

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES


def format_delivery_id(day: date, number: int) -> str:
    """Human-readable id, e.g. ``D-20261129-0001`` (number = that day's running count)."""
    if number < 1:
        raise ValueError(f"delivery number must be >= 1, got {number}")
    return f"D-{day:%Y%m%d}-{number:04d}"


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise DeliveryValidationError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")


def validate_request(sender: Party, recipient: Party, documents: list[Document], priority: str) -> None:
    """Raise DeliveryValidationError naming the first thing wrong with a delivery request."""
    if not sender.place_id.strip():
        raise DeliveryValidationError("sender place_id is empty")
    if not recipient.place_id.strip():
        raise DeliveryValidationError("recipient place_id is empty")
    if not sender.person.strip():
        raise DeliveryValidationError("sender person is empty")
    if sender.place_id == recipient.place_id:
        raise DeliveryValidationError(f"sender and recipient are the same place {sender.place_id!r}")
    if not documents:
        raise DeliveryValidationError("a delivery needs at least one document")
    seen: set[str] = set()
    for i, doc in enumerate(documents):
        if not doc.barcode.strip():
            raise DeliveryValidationError(f"document #{i + 1} ({doc.title!r}) has an empty barcode")
        if doc.barcode in seen:
            raise DeliveryValidationError(f"document barcode {doc.barcode!r} is listed twice")
        seen.add(doc.barcode)
    if priority not in PRIORITIES:
        raise DeliveryValidationError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")


def new_delivery(
    id: str,
    sender: Party,
    recipient: Party,
    documents: list[Document],
    priority: Priority,
    note: str,
    now: datetime,
    sender_pin: str,
) -> Delivery:
    """A validated delivery in state ``requested``; only the hash of the sender's PIN is kept."""
    validate_request(sender, recipient, documents, priority)
    _require_aware("now", now)
    d = Delivery(
        id=id,
        sender=sender,
        recipient=recipient,
        documents=list(documents),
        priority=priority,
        note=note,
        state=S.REQUESTED,
        sender_pin_hash=hash_pin(sender_pin),
        created_at=now,
        updated_at=now,
    )
    d.history.append(
        HistoryEntry(now, S.REQUESTED, f"requested by {sender.person} at {sender.place_id} for {recipient.place_id}")
    )
    return d


def can_transition(current: DeliveryState, new_state: DeliveryState) -> bool:
    return new_state in LEGAL_TRANSITIONS[current]


def transition(delivery: Delivery, new_state: DeliveryState, now: datetime, message: str) -> Delivery:
    """Move ``delivery`` to ``new_state`` (in place), recording a history entry.

    Going back to ``requested`` frees the robot; ``failed`` keeps ``message`` as the failure reason.
    """
    new_state = DeliveryState(new_state)
    if not can_transition(delivery.state, new_state):
        raise IllegalTransition(delivery.id, delivery.state, new_state)
    _require_aware("now", now)
    delivery.state = new_state
    delivery.updated_at = now
    if new_state in _UNASSIGNED_STATES:
        delivery.robot_id = None
        delivery.compartment_id = None
    if new_state is S.FAILED:
        delivery.failure_reason = message
    delivery.history.append(HistoryEntry(now, new_state, message))
    return delivery


def assign(delivery: Delivery, robot_id: str, compartment_id: int, now: datetime) -> Delivery:
    """Give a requested delivery to a robot's compartment (state -> ``assigned``)."""
    if not robot_id:
        raise DeliveryValidationError(f"delivery {delivery.id}: robot_id is empty")
    if compartment_id < 0:
        raise DeliveryValidationError(f"delivery {delivery.id}: compartment_id must be >= 0, got {compartment_id}")
    transition(delivery, S.ASSIGNED, now, f"assigned to {robot_id} compartment {compartment_id}")
    delivery.robot_id = robot_id
    delivery.compartment_id = compartment_id
    return delivery


def set_recipient_pin(delivery: Delivery, pin: str) -> None:
    """Keep only the hash of the recipient's one-time PIN (issued when the files are loaded)."""
    delivery.recipient_pin_hash = hash_pin(pin)


# --- plain-data form (JSON payload in the store, API responses) -----------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def history_to_dict(entry: HistoryEntry) -> dict[str, Any]:
    return {"at": _iso(entry.at), "state": entry.state.value, "message": entry.message}


def history_from_dict(data: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(datetime.fromisoformat(data["at"]), DeliveryState(data["state"]), data["message"])


def delivery_to_dict(d: Delivery, *, with_history: bool = True) -> dict[str, Any]:
    """JSON-ready dict; times as UTC ISO strings with microseconds (round-trips exactly)."""
    out: dict[str, Any] = {
        "id": d.id,
        "sender": {"place_id": d.sender.place_id, "person": d.sender.person},
        "recipient": {"place_id": d.recipient.place_id, "person": d.recipient.person},
        "documents": [{"barcode": doc.barcode, "title": doc.title} for doc in d.documents],
        "priority": d.priority,
        "note": d.note,
        "state": d.state.value,
        "robot_id": d.robot_id,
        "compartment_id": d.compartment_id,
        "sender_pin_hash": d.sender_pin_hash,
        "recipient_pin_hash": d.recipient_pin_hash,
        "created_at": _iso(d.created_at),
        "updated_at": _iso(d.updated_at),
        "failure_reason": d.failure_reason,
        "alternate_person": d.alternate_person,
    }
    if with_history:
        out["history"] = [history_to_dict(h) for h in d.history]
    return out


def delivery_from_dict(data: dict[str, Any]) -> Delivery:
    return Delivery(
        id=data["id"],
        sender=Party(**data["sender"]),
        recipient=Party(**data["recipient"]),
        documents=[Document(**doc) for doc in data["documents"]],
        priority=data["priority"],
        note=data["note"],
        state=DeliveryState(data["state"]),
        robot_id=data.get("robot_id"),
        compartment_id=data.get("compartment_id"),
        sender_pin_hash=data["sender_pin_hash"],
        recipient_pin_hash=data.get("recipient_pin_hash"),
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        history=[history_from_dict(h) for h in data.get("history", [])],
        failure_reason=data.get("failure_reason"),
        alternate_person=data.get("alternate_person"),
    )
