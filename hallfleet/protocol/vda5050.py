"""VDA 5050 2.1.0 messages and topics, shared by the fleet manager (master) and our vehicles.

Models are pydantic so that a malformed payload from any vendor becomes one clear error naming the
topic and field; serialisation drops unset optional fields, as the standard's schemas expect.
The official JSON schemas are carried in ``schemas/`` (MIT licence, VDA) for conformance tests.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

VERSION = "2.1.0"
INTERFACE = "uagv"
MAJOR = "v2"
TOPICS = ("order", "instantActions", "state", "connection", "factsheet", "visualization")


class ProtocolError(ValueError):
    """A message that does not follow VDA 5050; the text names the topic and the field."""


def topic(manufacturer: str, serial_number: str, kind: str) -> str:
    """``uagv/v2/{manufacturer}/{serialNumber}/{kind}``."""
    if kind not in TOPICS:
        raise ProtocolError(f"unknown VDA 5050 topic kind {kind!r}")
    return f"{INTERFACE}/{MAJOR}/{manufacturer}/{serial_number}/{kind}"


def parse_topic(name: str) -> tuple[str, str, str]:
    """Return (manufacturer, serialNumber, kind) of a VDA 5050 topic or raise ProtocolError."""
    parts = name.split("/")
    if len(parts) != 5 or parts[0] != INTERFACE or parts[1] != MAJOR or parts[4] not in TOPICS:
        raise ProtocolError(f"{name}: not a VDA 5050 {MAJOR} topic")
    return parts[2], parts[3], parts[4]


def utc_timestamp(now: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and 'Z', as the standard's examples show."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class HeaderIds:
    """Per-topic headerId counters: each topic counts on its own, starting at 0."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}

    def next(self, kind: str) -> int:
        return next(self._counters.setdefault(kind, itertools.count()))


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class BlockingType(StrEnum):
    NONE = "NONE"
    SOFT = "SOFT"
    HARD = "HARD"


class ActionStatus(StrEnum):
    WAITING = "WAITING"
    INITIALIZING = "INITIALIZING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"


class ActionParameter(_Model):
    key: str
    value: Any


class Action(_Model):
    actionType: str
    actionId: str
    blockingType: BlockingType = BlockingType.HARD
    actionDescription: str | None = None
    actionParameters: list[ActionParameter] = Field(default_factory=list)

    def param(self, key: str, default: Any = None) -> Any:
        for parameter in self.actionParameters:
            if parameter.key == key:
                return parameter.value
        return default


class NodePosition(_Model):
    x: float
    y: float
    theta: float | None = None
    mapId: str
    allowedDeviationXY: float | None = None
    allowedDeviationTheta: float | None = None


class Node(_Model):
    nodeId: str
    sequenceId: int
    released: bool
    nodePosition: NodePosition | None = None
    actions: list[Action] = Field(default_factory=list)
    nodeDescription: str | None = None


class Edge(_Model):
    edgeId: str
    sequenceId: int
    released: bool
    startNodeId: str
    endNodeId: str
    maxSpeed: float | None = None
    actions: list[Action] = Field(default_factory=list)
    edgeDescription: str | None = None


class Header(_Model):
    headerId: int
    timestamp: str
    version: str = VERSION
    manufacturer: str
    serialNumber: str


class Order(Header):
    orderId: str
    orderUpdateId: int
    zoneSetId: str | None = None
    nodes: list[Node]
    edges: list[Edge]


class InstantActions(Header):
    actions: list[Action]


class NodeState(_Model):
    nodeId: str
    sequenceId: int
    released: bool
    nodeDescription: str | None = None
    nodePosition: NodePosition | None = None


class EdgeState(_Model):
    edgeId: str
    sequenceId: int
    released: bool
    edgeDescription: str | None = None


class AgvPosition(_Model):
    x: float
    y: float
    theta: float
    mapId: str
    positionInitialized: bool = True
    localizationScore: float | None = None
    deviationRange: float | None = None


class Velocity(_Model):
    vx: float | None = None
    vy: float | None = None
    omega: float | None = None


class Load(_Model):
    loadId: str | None = None
    loadType: str | None = None
    loadPosition: str | None = None


class ActionState(_Model):
    actionId: str
    actionType: str | None = None
    actionDescription: str | None = None
    actionStatus: ActionStatus
    resultDescription: str | None = None


class BatteryState(_Model):
    batteryCharge: float
    batteryVoltage: float | None = None
    batteryHealth: float | None = None
    charging: bool
    reach: float | None = None


class ErrorReference(_Model):
    referenceKey: str
    referenceValue: str


class Error(_Model):
    errorType: str
    errorReferences: list[ErrorReference] | None = None
    errorDescription: str | None = None
    errorHint: str | None = None
    errorLevel: Literal["WARNING", "FATAL"]


class InfoReference(_Model):
    referenceKey: str
    referenceValue: str


class Information(_Model):
    infoType: str
    infoReferences: list[InfoReference] | None = None
    infoDescription: str | None = None
    infoLevel: Literal["INFO", "DEBUG"]


class SafetyState(_Model):
    eStop: Literal["AUTOACK", "MANUAL", "REMOTE", "NONE"] = "NONE"
    fieldViolation: bool = False


class State(Header):
    orderId: str = ""
    orderUpdateId: int = 0
    zoneSetId: str | None = None
    lastNodeId: str = ""
    lastNodeSequenceId: int = 0
    driving: bool = False
    paused: bool | None = None
    newBaseRequest: bool | None = None
    distanceSinceLastNode: float | None = None
    operatingMode: Literal["AUTOMATIC", "SEMIAUTOMATIC", "MANUAL", "SERVICE", "TEACHIN"] = "AUTOMATIC"
    nodeStates: list[NodeState] = Field(default_factory=list)
    edgeStates: list[EdgeState] = Field(default_factory=list)
    agvPosition: AgvPosition | None = None
    velocity: Velocity | None = None
    loads: list[Load] | None = None
    actionStates: list[ActionState] = Field(default_factory=list)
    batteryState: BatteryState
    errors: list[Error] = Field(default_factory=list)
    information: list[Information] | None = None
    safetyState: SafetyState = Field(default_factory=SafetyState)


class ConnectionState(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    CONNECTIONBROKEN = "CONNECTIONBROKEN"


class Connection(Header):
    connectionState: ConnectionState


class Visualization(_Model):
    headerId: int | None = None
    timestamp: str | None = None
    version: str | None = VERSION
    manufacturer: str | None = None
    serialNumber: str | None = None
    agvPosition: AgvPosition | None = None
    velocity: Velocity | None = None


_MODELS: dict[str, type[_Model]] = {
    "order": Order,
    "instantActions": InstantActions,
    "state": State,
    "connection": Connection,
    "visualization": Visualization,
}


def decode(kind: str, payload: bytes | str, topic_name: str = "") -> _Model:
    """Parse and validate one message; raise ProtocolError naming topic and offending field.

    The message kinds with a model are parsed and validated in one pass by pydantic-core
    (``model_validate_json``): about half the cost of ``json.loads`` plus ``model_validate``, and
    every vehicle's ``state`` (1 Hz) and ``visualization`` (10 Hz) goes through here. Malformed JSON
    is re-parsed with the standard library only to keep its error text (and its tolerance of
    NaN/Infinity), so results and messages do not depend on which parser saw the payload first.
    """
    where = topic_name or kind
    model = _MODELS.get(kind)
    if model is None:
        if kind != "factsheet":
            raise ProtocolError(f"{where}: unknown VDA 5050 topic kind {kind!r}")
        data = _load_json(payload, where)
        if not isinstance(data, dict):
            raise ProtocolError(f"{where}: factsheet must be a JSON object")
        return Factsheet.from_dict(data, where)
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        if first["type"] != "json_invalid":
            raise _field_error(where, first) from None
    # Not JSON to pydantic-core: let the standard library say why (or accept what it accepts).
    data = _load_json(payload, where)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _field_error(where, exc.errors(include_url=False, include_input=False)[0]) from None


def _load_json(payload: bytes | str, where: str) -> Any:
    try:
        return json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{where}: not JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(f"{where}: not JSON: nested too deeply") from None


def _field_error(where: str, first: Any) -> ProtocolError:
    field = ".".join(str(part) for part in first["loc"]) or "(message)"
    return ProtocolError(f"{where}: field {field}: {first['msg']}")


class Factsheet(_Model):
    """The parts of a factsheet the fleet relies on; the full document is kept in ``raw``."""

    manufacturer: str
    serialNumber: str
    raw: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "factsheet") -> Factsheet:
        try:
            return cls(manufacturer=data["manufacturer"], serialNumber=data["serialNumber"], raw=data)
        except KeyError as exc:
            raise ProtocolError(f"{where}: field {exc.args[0]}: missing") from None

    def action_types(self) -> set[str]:
        """Every actionType the vehicle declares in protocolFeatures.agvActions."""
        actions = self.raw.get("protocolFeatures", {}).get("agvActions", [])
        return {a["actionType"] for a in actions if isinstance(a, dict) and "actionType" in a}

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)


def encode(message: _Model) -> bytes:
    """Compact UTF-8 JSON of a message, keeping Chinese text readable."""
    return json.dumps(message.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
