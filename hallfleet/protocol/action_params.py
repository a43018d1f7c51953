"""The wire contract of HallFleet's VDA 5050 actions: typed parameters, one codec, typed refusals.

Both sides use this module and nothing else to put parameters on an action or read them back: the
fleet builds ``LoadDocuments(...)`` and sends ``to_action(...)``; the robot calls ``decode(action)``
and gets the same dataclass back, or an ``ActionParameterError`` naming action and key. The
factsheet's ``actionParameters`` are generated from the same field tables (``hall_actions``).

A robot that refuses an unlock says why as a VDA 5050 error in its state, never only as text:
``errorType`` ``unlockRefused`` with references ``actionId``, ``compartmentId``, ``reason``
(``wrongPin`` | ``blocked`` | ``notExpected`` | ``other``), ``failedPinAttempts`` and ``blocked``.
How many wrong PINs block a compartment is the robot's business; the fleet reads ``blocked``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypeVar

from hallfleet.protocol import vda5050 as v

LOAD_DOCUMENTS = "loadDocuments"
UNLOAD_DOCUMENTS = "unloadDocuments"
UNLOCK_COMPARTMENT = "unlockCompartment"
LOCK_COMPARTMENT = "lockCompartment"
SPEAK = "speak"
EMERGENCY_STOP = "emergencyStop"  # ours: VDA 5050 has no remote e-stop action
RESET_EMERGENCY_STOP = "resetEmergencyStop"
START_CHARGING = "startCharging"  # VDA 5050 predefined
STOP_CHARGING = "stopCharging"  # VDA 5050 predefined
PICK = "pick"  # VDA 5050 predefined: what other makes' vehicles offer for same-floor transfers
DROP = "drop"  # VDA 5050 predefined
CANCEL_ORDER = "cancelOrder"
START_PAUSE = "startPause"
STOP_PAUSE = "stopPause"
STATE_REQUEST = "stateRequest"
FACTSHEET_REQUEST = "factsheetRequest"

ValueType = Literal["STRING", "INTEGER", "BOOL"]
COMPARTMENT_MAX = 255  # uint8 in the robot's ROS services


class ActionParameterError(ValueError):
    """An action parameter is missing or of the wrong type; the text names action and key."""


@dataclass(frozen=True)
class Param:
    """One parameter on the wire: the dataclass field ``attr`` travels as ``key``."""

    attr: str
    key: str
    value_type: ValueType
    description: str
    min_value: int | None = None
    max_value: int | None = None


def _where(action: v.Action) -> str:
    return f"{action.actionType} {action.actionId}"


def _read_string(action: v.Action, raw: Any, param: Param) -> str:
    if isinstance(raw, (dict, list)):
        raise ActionParameterError(f"{_where(action)}: parameter {param.key} must be text, got {raw!r}")
    return str(raw)


def _read_integer(action: v.Action, raw: Any, param: Param) -> int:
    if isinstance(raw, bool):
        raise ActionParameterError(f"{_where(action)}: parameter {param.key} must be an integer, got {raw!r}")
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise ActionParameterError(f"{_where(action)}: parameter {param.key} must be an integer, got {raw!r}") from None
    if isinstance(raw, float) and raw != number:
        raise ActionParameterError(f"{_where(action)}: parameter {param.key} must be an integer, got {raw!r}")
    low, high = param.min_value, param.max_value
    if (low is not None and number < low) or (high is not None and number > high):
        raise ActionParameterError(f"{_where(action)}: parameter {param.key} must be {low}..{high}, got {number}")
    return number


def _read_bool(action: v.Action, raw: Any, param: Param) -> bool:
    """BOOL per the factsheet; "true"/"false" text is accepted too (``bool("false")`` would be True)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise ActionParameterError(f"{_where(action)}: parameter {param.key} must be true or false, got {raw!r}")


_READERS: dict[ValueType, Callable[[v.Action, Any, Param], Any]] = {
    "STRING": _read_string,
    "INTEGER": _read_integer,
    "BOOL": _read_bool,
}


class HallActionParams:
    """Base of every typed parameter set; ``ACTION_TYPE`` and ``PARAMS`` describe it on the wire."""

    ACTION_TYPE: ClassVar[str]
    PARAMS: ClassVar[tuple[Param, ...]] = ()

    def parameters(self) -> list[v.ActionParameter]:
        return [v.ActionParameter(key=p.key, value=getattr(self, p.attr)) for p in self.PARAMS]


_COMPARTMENT = Param("compartment_id", "compartmentId", "INTEGER", "1-based compartment number", 1, COMPARTMENT_MAX)
_DELIVERY = Param("delivery_id", "deliveryId", "STRING", "delivery the files belong to")
_PIN_HASH = Param("pin_hash", "pinHash", "STRING", "salted PBKDF2 hash of the PIN that may open the compartment")
_PERSON = Param("person", "person", "STRING", "who asked for it")


@dataclass(frozen=True)
class LoadDocuments(HallActionParams):
    """Node action at the sender: wait until they open ``compartment_id`` with their PIN and load."""

    ACTION_TYPE: ClassVar[str] = LOAD_DOCUMENTS
    PARAMS: ClassVar[tuple[Param, ...]] = (_DELIVERY, _COMPARTMENT, _PIN_HASH)
    delivery_id: str
    compartment_id: int
    pin_hash: str


@dataclass(frozen=True)
class UnloadDocuments(HallActionParams):
    """Node action at the recipient (or back at the sender): wait until the files are taken out."""

    ACTION_TYPE: ClassVar[str] = UNLOAD_DOCUMENTS
    PARAMS: ClassVar[tuple[Param, ...]] = (_DELIVERY, _COMPARTMENT, _PIN_HASH)
    delivery_id: str
    compartment_id: int
    pin_hash: str


@dataclass(frozen=True)
class UnlockCompartment(HallActionParams):
    ACTION_TYPE: ClassVar[str] = UNLOCK_COMPARTMENT
    PARAMS: ClassVar[tuple[Param, ...]] = (
        _COMPARTMENT,
        Param("pin", "pin", "STRING", "PIN as typed"),
        Param("person", "person", "STRING", "who typed it"),
    )
    compartment_id: int
    pin: str
    person: str


@dataclass(frozen=True)
class LockCompartment(HallActionParams):
    ACTION_TYPE: ClassVar[str] = LOCK_COMPARTMENT
    PARAMS: ClassVar[tuple[Param, ...]] = (
        _COMPARTMENT,
        Param("occupied", "occupied", "BOOL", "files are inside"),
        Param("person", "person", "STRING", "who closed it"),
    )
    compartment_id: int
    occupied: bool
    person: str


@dataclass(frozen=True)
class Speak(HallActionParams):
    ACTION_TYPE: ClassVar[str] = SPEAK
    PARAMS: ClassVar[tuple[Param, ...]] = (
        Param("text", "text", "STRING", "what to say"),
        Param("language", "language", "STRING", "zh-CN or en"),
    )
    text: str
    language: str = "zh-CN"


@dataclass(frozen=True)
class EmergencyStop(HallActionParams):
    ACTION_TYPE: ClassVar[str] = EMERGENCY_STOP
    PARAMS: ClassVar[tuple[Param, ...]] = (_PERSON,)
    person: str = "the fleet"


@dataclass(frozen=True)
class ResetEmergencyStop(HallActionParams):
    ACTION_TYPE: ClassVar[str] = RESET_EMERGENCY_STOP
    PARAMS: ClassVar[tuple[Param, ...]] = (_PERSON,)
    person: str = "the fleet"


@dataclass(frozen=True)
class StartCharging(HallActionParams):
    ACTION_TYPE: ClassVar[str] = START_CHARGING


@dataclass(frozen=True)
class StopCharging(HallActionParams):
    ACTION_TYPE: ClassVar[str] = STOP_CHARGING


_STATION = (
    Param("station_type", "stationType", "STRING", "kind of station"),
    Param("station_name", "stationName", "STRING", "place id of the station"),
    Param("load_type", "loadType", "STRING", "what is carried"),
    Param("load_id", "loadId", "STRING", "the tote: named after the delivery"),
)


@dataclass(frozen=True)
class Pick(HallActionParams):
    """VDA 5050 pick at a station (vehicles of other makes: a sealed tote, no compartment PINs)."""

    ACTION_TYPE: ClassVar[str] = PICK
    PARAMS: ClassVar[tuple[Param, ...]] = _STATION
    station_type: str
    station_name: str
    load_type: str
    load_id: str


@dataclass(frozen=True)
class Drop(HallActionParams):
    ACTION_TYPE: ClassVar[str] = DROP
    PARAMS: ClassVar[tuple[Param, ...]] = _STATION
    station_type: str
    station_name: str
    load_type: str
    load_id: str


@dataclass(frozen=True)
class CancelOrder(HallActionParams):
    ACTION_TYPE: ClassVar[str] = CANCEL_ORDER


@dataclass(frozen=True)
class StartPause(HallActionParams):
    ACTION_TYPE: ClassVar[str] = START_PAUSE


@dataclass(frozen=True)
class StopPause(HallActionParams):
    ACTION_TYPE: ClassVar[str] = STOP_PAUSE


@dataclass(frozen=True)
class StateRequest(HallActionParams):
    ACTION_TYPE: ClassVar[str] = STATE_REQUEST


@dataclass(frozen=True)
class FactsheetRequest(HallActionParams):
    ACTION_TYPE: ClassVar[str] = FACTSHEET_REQUEST


PARAMS_BY_TYPE: dict[str, type[HallActionParams]] = {
    cls.ACTION_TYPE: cls
    for cls in (
        LoadDocuments,
        UnloadDocuments,
        UnlockCompartment,
        LockCompartment,
        Speak,
        EmergencyStop,
        ResetEmergencyStop,
        StartCharging,
        StopCharging,
        Pick,
        Drop,
        CancelOrder,
        StartPause,
        StopPause,
        StateRequest,
        FactsheetRequest,
    )
}

P = TypeVar("P", bound=HallActionParams)


def to_action(params: HallActionParams, action_id: str, blocking: v.BlockingType = v.BlockingType.NONE) -> v.Action:
    """The VDA 5050 action carrying ``params`` (its ``actionType`` comes from the parameter class)."""
    return v.Action(
        actionType=params.ACTION_TYPE, actionId=action_id, blockingType=blocking, actionParameters=params.parameters()
    )


def decode(action: v.Action) -> HallActionParams:
    """The typed parameters of ``action``; ActionParameterError names the action and the key."""
    cls = PARAMS_BY_TYPE.get(action.actionType)
    if cls is None:
        raise ActionParameterError(f"{_where(action)}: not a HallFleet action type")
    return decode_as(cls, action)


def decode_as(cls: type[P], action: v.Action) -> P:
    """Read ``action``'s parameters as ``cls`` (which must match its actionType)."""
    if action.actionType != cls.ACTION_TYPE:
        raise ActionParameterError(f"{_where(action)}: expected a {cls.ACTION_TYPE} action")
    given = {p.key: p.value for p in action.actionParameters}
    values: dict[str, Any] = {}
    defaults = {f.name for f in fields(cls) if f.default is not MISSING or f.default_factory is not MISSING}
    for param in cls.PARAMS:
        if param.key not in given or given[param.key] is None:
            if param.attr in defaults:
                continue
            raise ActionParameterError(f"{_where(action)}: parameter {param.key} is missing")
        values[param.attr] = _READERS[param.value_type](action, given[param.key], param)
    return cls(**values)


# --------------------------------------------------------------------------- typed refusals

UNLOCK_REFUSED = "unlockRefused"  # errorType of a refused unlockCompartment


class RefusalReason(StrEnum):
    WRONG_PIN = "wrongPin"  # the PIN did not match (``blocked``: and this one blocked the compartment)
    BLOCKED = "blocked"  # the compartment was blocked already: the PIN was not even checked
    NOT_EXPECTED = "notExpected"  # no hand-over is prepared in that compartment here
    OTHER = "other"  # e.g. no such compartment


@dataclass(frozen=True)
class UnlockRefusal:
    """Why the robot did not open a compartment, as it reports it in its VDA 5050 state."""

    action_id: str
    compartment_id: int
    reason: RefusalReason
    failed_pin_attempts: int
    blocked: bool
    description: str = ""

    @property
    def about_the_pin(self) -> bool:
        """Wrong PIN or blocked compartment: the person at the robot is refused (HTTP 403)."""
        return self.reason in (RefusalReason.WRONG_PIN, RefusalReason.BLOCKED)

    def to_error(self) -> v.Error:
        refs = {
            "actionId": self.action_id,
            "compartmentId": str(self.compartment_id),
            "reason": self.reason.value,
            "failedPinAttempts": str(self.failed_pin_attempts),
            "blocked": "true" if self.blocked else "false",
        }
        return v.Error(
            errorType=UNLOCK_REFUSED,
            errorLevel="WARNING",
            errorDescription=self.description,
            errorReferences=[v.ErrorReference(referenceKey=k, referenceValue=val) for k, val in refs.items()],
        )

    @classmethod
    def from_error(cls, error: v.Error) -> UnlockRefusal | None:
        """The refusal an ``unlockRefused`` error carries; None for other errors or unreadable references."""
        if error.errorType != UNLOCK_REFUSED:
            return None
        refs = {r.referenceKey: r.referenceValue for r in error.errorReferences or []}
        try:
            return cls(
                refs["actionId"],
                int(refs["compartmentId"]),
                RefusalReason(refs["reason"]),
                int(refs.get("failedPinAttempts", "0")),
                refs.get("blocked") == "true",
                error.errorDescription or "",
            )
        except (KeyError, ValueError):
            return None


def refusal_for(state: v.State, action_id: str) -> UnlockRefusal | None:
    """The refusal of the unlock ``action_id`` in a vehicle's state, if it reports one."""
    for error in state.errors:
        refusal = UnlockRefusal.from_error(error)
        if refusal is not None and refusal.action_id == action_id:
            return refusal
    return None
