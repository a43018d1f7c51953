"""Fleet <-> elevator controller MQTT protocol (the project's own; shared by fleet and simulator).

Topics:
  hallfleet/elevators/{elevator_id}/request   fleet -> controller   ElevatorRequest JSON
  hallfleet/elevators/{elevator_id}/state     controller -> fleet   ElevatorStatus JSON,
                                              published on every change and every 1 s

"call" sends the car to a level, opens the door there and holds it open for that robot until it
sends "release" or its next "call" (a ride is: call L1, board, call L3, exit, release).
"hold" keeps the door open at the current level for the robot. Pure: no MQTT client here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

TOPIC_PREFIX = "hallfleet/elevators"
REQUEST_TOPIC_FILTER = f"{TOPIC_PREFIX}/+/request"
STATE_TOPIC_FILTER = f"{TOPIC_PREFIX}/+/state"
STATE_PERIOD_S = 1.0

Command = Literal["call", "hold", "release"]
COMMANDS: tuple[str, ...] = ("call", "hold", "release")
DOOR_STATES: tuple[str, ...] = ("open", "opening", "closed", "closing")
DIRECTIONS: tuple[str, ...] = ("up", "down", "none")


class ElevatorMessageError(ValueError):
    """A payload on an elevator topic is not valid JSON of the expected shape."""


def _check_elevator_id(elevator_id: str) -> str:
    if not elevator_id or any(c in elevator_id for c in "/+#") or not elevator_id.isprintable():
        raise ValueError(f"elevator id {elevator_id!r}: must be non-empty without '/', '+', '#'")
    return elevator_id


def request_topic(elevator_id: str) -> str:
    return f"{TOPIC_PREFIX}/{_check_elevator_id(elevator_id)}/request"


def state_topic(elevator_id: str) -> str:
    return f"{TOPIC_PREFIX}/{_check_elevator_id(elevator_id)}/state"


def parse_topic(topic: str) -> tuple[str, str]:
    """'hallfleet/elevators/E1/request' -> ('E1', 'request'); ValueError if not an elevator topic."""
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_PREFIX or parts[3] not in ("request", "state"):
        raise ValueError(f"{topic}: not an elevator topic ({TOPIC_PREFIX}/<id>/request|state)")
    return _check_elevator_id(parts[2]), parts[3]


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---- field readers with messages naming the source and field ---------------------------------


def _load_object(payload: bytes | str, source: str) -> dict[str, Any]:
    try:
        text = payload.decode("utf-8") if isinstance(payload, (bytes, bytearray)) else payload
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ElevatorMessageError(f"{source}: invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ElevatorMessageError(f"{source}: expected a JSON object, got {type(data).__name__}")
    return data


def _field(
    data: dict[str, Any], name: str, kind: type | tuple[type, ...], source: str, *, optional: bool = False
) -> Any:
    if name not in data or (optional and data[name] is None):
        if optional:
            return None
        raise ElevatorMessageError(f"{source}: field {name!r}: missing")
    value = data[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python; a level of `true` is a mistake, not level 1.
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        names = " or ".join(k.__name__.replace("str", "string") for k in kinds)
        raise ElevatorMessageError(f"{source}: field {name!r}: expected {names}" + (" or null" if optional else ""))
    return value


def _choice(data: dict[str, Any], name: str, choices: tuple[str, ...], source: str) -> str:
    value = _field(data, name, str, source)
    if value not in choices:
        raise ElevatorMessageError(f"{source}: field {name!r}: expected one of {', '.join(choices)}, got {value!r}")
    return value


# ---- messages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElevatorRequest:
    request_id: str
    command: Command
    robot_id: str
    level: int | None = None  # required for "call"

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ElevatorMessageError(f"request: field 'command': expected one of {', '.join(COMMANDS)}")
        if self.command == "call" and (self.level is None or isinstance(self.level, bool)):
            raise ElevatorMessageError("request: field 'level': expected int for command 'call'")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"requestId": self.request_id, "command": self.command, "robotId": self.robot_id}
        if self.level is not None:
            out["level"] = self.level
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, payload: bytes | str, source: str = "request") -> ElevatorRequest:
        """Parse a request; `source` (usually the topic) prefixes every error message."""
        data = _load_object(payload, source)
        request_id = _field(data, "requestId", str, source)
        command = _choice(data, "command", COMMANDS, source)
        robot_id = _field(data, "robotId", str, source)
        if not robot_id:
            raise ElevatorMessageError(f"{source}: field 'robotId': must not be empty")
        level = _field(data, "level", int, source, optional=command != "call")
        return cls(request_id=request_id, command=command, robot_id=robot_id, level=level)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RequestOutcome:
    """How the controller handled the last request (extension: lets the fleet see rejections)."""

    request_id: str
    accepted: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"requestId": self.request_id, "accepted": self.accepted, "reason": self.reason}


@dataclass(frozen=True)
class ElevatorStatus:
    elevator_id: str
    level: int
    door: str  # open | opening | closed | closing
    moving: bool
    direction: str  # up | down | none
    held_by: str | None = None
    target_level: int | None = None
    fault: str | None = None
    timestamp: str = ""
    last_request: RequestOutcome | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "elevatorId": self.elevator_id,
            "level": self.level,
            "door": self.door,
            "moving": self.moving,
            "direction": self.direction,
            "heldBy": self.held_by,
            "targetLevel": self.target_level,
            "fault": self.fault,
            "timestamp": self.timestamp or utc_now_iso(),
            "lastRequest": self.last_request.to_dict() if self.last_request else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, payload: bytes | str, source: str = "state") -> ElevatorStatus:
        data = _load_object(payload, source)
        last = data.get("lastRequest")
        outcome = None
        if last is not None:
            if not isinstance(last, dict):
                raise ElevatorMessageError(f"{source}: field 'lastRequest': expected object or null")
            outcome = RequestOutcome(
                request_id=_field(last, "requestId", str, f"{source}: lastRequest"),
                accepted=_field(last, "accepted", bool, f"{source}: lastRequest"),
                reason=_field(last, "reason", str, f"{source}: lastRequest", optional=True),
            )
        return cls(
            elevator_id=_field(data, "elevatorId", str, source),
            level=_field(data, "level", int, source),
            door=_choice(data, "door", DOOR_STATES, source),
            moving=_field(data, "moving", bool, source),
            direction=_choice(data, "direction", DIRECTIONS, source),
            held_by=_field(data, "heldBy", str, source, optional=True),
            target_level=_field(data, "targetLevel", int, source, optional=True),
            fault=_field(data, "fault", str, source, optional=True),
            timestamp=_field(data, "timestamp", str, source),
            last_request=outcome,
        )
