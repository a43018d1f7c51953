"""HallFleet's own VDA 5050 actions: the delivery and guidance work, declared in our factsheets.

One table is the single source: the factsheet is built from it and the fleet checks every action
it sends against the receiving vehicle's factsheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOAD_DOCUMENTS = "loadDocuments"
UNLOAD_DOCUMENTS = "unloadDocuments"
UNLOCK_COMPARTMENT = "unlockCompartment"
LOCK_COMPARTMENT = "lockCompartment"
SPEAK = "speak"
EMERGENCY_STOP = "emergencyStop"  # ours: VDA 5050 has no remote e-stop action
RESET_EMERGENCY_STOP = "resetEmergencyStop"
START_CHARGING = "startCharging"  # VDA 5050 predefined
PICK = "pick"  # VDA 5050 predefined: what other makes' vehicles offer for same-floor transfers
DROP = "drop"  # VDA 5050 predefined
STOP_CHARGING = "stopCharging"  # VDA 5050 predefined
STANDARD_INSTANT = ("cancelOrder", "startPause", "stopPause", "stateRequest", "factsheetRequest")


@dataclass(frozen=True)
class ActionSpec:
    action_type: str
    description: str
    scopes: tuple[str, ...]
    parameters: tuple[tuple[str, str, str], ...]  # (key, valueDataType, description)
    blocking: tuple[str, ...] = ("HARD",)
    result: str = ""

    def factsheet_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "actionType": self.action_type,
            "actionDescription": self.description,
            "actionScopes": list(self.scopes),
            "actionParameters": [
                {"key": k, "valueDataType": t, "description": d, "isOptional": False} for k, t, d in self.parameters
            ],
            "blockingTypes": list(self.blocking),
        }
        if self.result:
            entry["resultDescription"] = self.result
        return entry


_COMPARTMENT = ("compartmentId", "INTEGER", "1-based compartment number")
_DELIVERY = ("deliveryId", "STRING", "delivery the files belong to")
_PIN_HASH = ("pinHash", "STRING", "salted PBKDF2 hash of the PIN that may open the compartment")

DELIVERY_ACTIONS = (
    ActionSpec(
        LOAD_DOCUMENTS,
        "wait at the node until the sender opens the compartment with their PIN, puts the files in and it locks",
        ("NODE",),
        (_DELIVERY, _COMPARTMENT, _PIN_HASH),
    ),
    ActionSpec(
        UNLOAD_DOCUMENTS,
        "wait at the node until the recipient opens the compartment with the "
        "one-time PIN, takes the files and it locks",
        ("NODE",),
        (_DELIVERY, _COMPARTMENT, _PIN_HASH),
    ),
    ActionSpec(
        UNLOCK_COMPARTMENT,
        "open a compartment for a PIN typed at the robot's screen",
        ("INSTANT",),
        (_COMPARTMENT, ("pin", "STRING", "PIN as typed"), ("person", "STRING", "who typed it")),
        ("NONE",),
        "'opened' or why not",
    ),
    ActionSpec(
        LOCK_COMPARTMENT,
        "close and lock a compartment after a hand-over",
        ("INSTANT",),
        (_COMPARTMENT, ("occupied", "BOOL", "files are inside"), ("person", "STRING", "who closed it")),
        ("NONE",),
    ),
)
GUIDANCE_ACTIONS = (
    ActionSpec(
        SPEAK,
        "say a sentence through the robot's speaker",
        ("INSTANT", "NODE"),
        (("text", "STRING", "what to say"), ("language", "STRING", "zh-CN or en")),
        ("NONE", "SOFT"),
        "path of the synthesised WAV",
    ),
)
STANDARD_SPECS = tuple(ActionSpec(name, f"VDA 5050 {name}", ("INSTANT",), (), ("NONE",)) for name in STANDARD_INSTANT)
_PERSON = ("person", "STRING", "who asked for it (technician)")
SAFETY_ACTIONS = (
    ActionSpec(
        EMERGENCY_STOP,
        "stop the motors at once and latch: FATAL error emergencyStop, no driving until resetEmergencyStop",
        ("INSTANT",),
        (_PERSON,),
        ("NONE",),
    ),
    ActionSpec(
        RESET_EMERGENCY_STOP,
        "release the e-stop latch (from the fleet or the robot's own button); the order continues",
        ("INSTANT",),
        (_PERSON,),
        ("NONE",),
        "'reset' once the base confirmed",
    ),
    ActionSpec(
        START_CHARGING,
        "VDA 5050 startCharging: close the charging relay at a dock; FINISHED once the battery reports charging",
        ("INSTANT", "NODE"),
        (),
        ("NONE", "HARD"),
    ),
    ActionSpec(
        STOP_CHARGING,
        "VDA 5050 stopCharging: open the charging relay (a new drive does it too)",
        ("INSTANT", "NODE"),
        (),
        ("NONE", "HARD"),
    ),
)


def actions_for(kind: str) -> tuple[ActionSpec, ...]:
    """Every action a vehicle of our ``kind`` ("delivery" or "guidance") declares."""
    own = {"delivery": DELIVERY_ACTIONS, "guidance": GUIDANCE_ACTIONS}.get(kind)
    if own is None:
        raise ValueError(f"unknown robot kind {kind!r}: expected 'delivery' or 'guidance'")
    return own + SAFETY_ACTIONS + STANDARD_SPECS


def build_factsheet(
    manufacturer: str, serial_number: str, kind: str, *, compartments: int = 0, speed_max_mps: float = 1.0
) -> dict[str, Any]:
    """A VDA 5050 2.1.0 factsheet for one of our robots (validates against factsheet.schema)."""
    from hallfleet.protocol.vda5050 import VERSION, utc_timestamp

    return {
        "headerId": 0,
        "timestamp": utc_timestamp(),
        "version": VERSION,
        "manufacturer": manufacturer,
        "serialNumber": serial_number,
        "typeSpecification": {
            "seriesName": f"HallFleet {kind}",
            "seriesDescription": "document delivery robot" if kind == "delivery" else "visitor guidance robot",
            "agvKinematic": "DIFF",
            "agvClass": "CARRIER",
            "maxLoadMass": 10.0 if kind == "delivery" else 0.0,
            "localizationTypes": ["NATURAL"],
            "navigationTypes": ["AUTONOMOUS"],
        },
        "physicalParameters": {
            "speedMin": 0.0,
            "speedMax": speed_max_mps,
            "accelerationMax": 0.5,
            "decelerationMax": 1.0,
            "heightMin": 1.2,
            "heightMax": 1.4,
            "width": 0.55,
            "length": 0.65,
        },
        "protocolLimits": {
            "maxStringLens": {
                "msgLen": 65536,
                "topicSerialLen": 64,
                "topicElemLen": 64,
                "idLen": 64,
                "idNumericalOnly": False,
            },
            "maxArrayLens": {"order.nodes": 200, "order.edges": 199, "instantActions": 10},
            "timing": {
                "minOrderInterval": 0.1,
                "minStateInterval": 0.2,
                "defaultStateInterval": 1.0,
                "visualizationInterval": 0.5,
            },
        },
        "protocolFeatures": {
            "optionalParameters": [{"parameter": "order.nodes.nodePosition.theta", "support": "SUPPORTED"}],
            "agvActions": [spec.factsheet_entry() for spec in actions_for(kind)],
        },
        "agvGeometry": {},
        "loadSpecification": {
            "loadPositions": [f"compartment{i}" for i in range(1, compartments + 1)],
        },
    }
