"""What the fleet knows about each vehicle, folded from its VDA 5050 connection, factsheet and state."""

from __future__ import annotations

from dataclasses import dataclass, field

from hallfleet.protocol import vda5050 as v


@dataclass
class RobotView:
    robot_id: str  # our name for the vehicle: its serialNumber
    manufacturer: str
    kind: str  # "delivery", "guidance" or "thirdparty"
    online: bool = False
    connection: str = "OFFLINE"
    state: v.State | None = None
    action_types: set[str] = field(default_factory=set)
    compartments: int = 0  # load positions its factsheet declares (our robots: locked compartments)
    delivery_ids: list[str] = field(default_factory=list)
    trip_order_id: str | None = None
    needs_charge: bool = False  # set below the low threshold, cleared once charged (hysteresis)
    resync_pending: bool = False  # a stateRequest is out after a reconnect: reconcile on the next state

    @property
    def map_id(self) -> str | None:
        return self.state.agvPosition.mapId if self.state and self.state.agvPosition else None

    @property
    def battery_pct(self) -> float | None:
        return self.state.batteryState.batteryCharge if self.state else None

    @property
    def fatal(self) -> bool:
        return bool(self.state and any(e.errorLevel == "FATAL" for e in self.state.errors))

    @property
    def e_stop(self) -> str:
        """VDA 5050 safetyState.eStop: NONE, or REMOTE / MANUAL while an emergency stop holds the robot."""
        return self.state.safetyState.eStop if self.state and self.state.safetyState else "NONE"

    def update_charge_need(self, low_pct: float, charged_pct: float) -> bool:
        """Below ``low_pct`` the robot must charge; it is free again only at ``charged_pct``. Returns the need."""
        pct = self.battery_pct
        if pct is not None:
            if pct < low_pct:
                self.needs_charge = True
            elif pct >= charged_pct:
                self.needs_charge = False
        return self.needs_charge

    def is_free_for_delivery(self, min_battery_pct: float = 20.0) -> bool:
        """Free to carry files: our delivery robots, and vehicles of other makes (same-floor work only)."""
        return (
            self.kind in ("delivery", "thirdparty")
            and self.online
            and self.state is not None
            and not self.delivery_ids
            and self.trip_order_id is None
            and not self.fatal
            and not self.needs_charge
            and (self.battery_pct or 0.0) >= min_battery_pct
        )

    def action_state(self, action_id: str) -> v.ActionState | None:
        if self.state is None:
            return None
        return next((a for a in self.state.actionStates if a.actionId == action_id), None)

    def activity(self) -> str:
        """One word a technician understands: offline, error, paused, driving, working, idle."""
        if not self.online:
            return "offline"
        if self.state is None:
            return "connecting"
        if self.fatal:
            return "error"
        if self.state.paused:
            return "paused"
        if self.state.driving:
            return "driving"
        if any(a.actionStatus in ("RUNNING", "INITIALIZING") for a in self.state.actionStates):
            return "working"
        if self.state.nodeStates:
            return "waiting"
        return "idle"
