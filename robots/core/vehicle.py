"""A VDA 5050 vehicle's order state machine: which order it holds, where it is in it, what to do next.

Pure logic shared by every vehicle we build. The vehicle adapter node feeds it orders, instant
actions, arrivals and action results, asks ``next_step()`` what to do, and publishes ``state()``.
It never drives or unlocks anything itself, so it is testable without ROS or MQTT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hallfleet.protocol.vda5050 import (
    Action,
    ActionState,
    ActionStatus,
    AgvPosition,
    BatteryState,
    BlockingType,
    Edge,
    EdgeState,
    Error,
    ErrorReference,
    InfoReference,
    Information,
    Load,
    Node,
    NodeState,
    Order,
    SafetyState,
    State,
    Velocity,
)

INSTANT_ONLY = {"cancelOrder", "startPause", "stopPause", "stateRequest", "factsheetRequest"}
_FINAL = {ActionStatus.FINISHED, ActionStatus.FAILED}


@dataclass(frozen=True)
class DriveStep:
    """Drive along ``edge`` to ``node``; a change of mapId means the elevator carried us."""

    edge: Edge
    node: Node
    from_map_id: str

    @property
    def is_map_transfer(self) -> bool:
        return self.node.nodePosition is not None and self.node.nodePosition.mapId != self.from_map_id


@dataclass(frozen=True)
class ActionStep:
    """Start ``action`` (a node action of the node just reached, or an instant action)."""

    action: Action


@dataclass
class VehiclePosition:
    """Where the vehicle is: on which floor map (VDA 5050 mapId) and where on it (REP 103 units)."""

    x_m: float
    y_m: float
    yaw_rad: float
    map_id: str


@dataclass
class VehicleCore:
    manufacturer: str
    serial_number: str
    supported_actions: set[str]
    position: VehiclePosition
    allowed_deviation_m: float = 0.5
    order_id: str = ""
    order_update_id: int = 0
    last_node_id: str = ""
    last_node_sequence_id: int = 0
    driving: bool = False
    paused: bool = False
    battery_charge_pct: float = 100.0
    battery_voltage_v: float | None = None
    charging: bool = False
    e_stop: bool = False
    e_stop_source: str = "NONE"  # VDA 5050 safetyState.eStop while stopped: REMOTE (fleet) or MANUAL (button)
    node_states: list[Node] = field(default_factory=list)
    edge_states: list[Edge] = field(default_factory=list)
    action_states: dict[str, ActionState] = field(default_factory=dict)
    errors: list[Error] = field(default_factory=list)
    information: list[Information] = field(default_factory=list)
    loads: list[Load] = field(default_factory=list)
    _pending_actions: list[Action] = field(default_factory=list)
    _running: set[str] = field(default_factory=set)
    _running_blocking: dict[str, BlockingType] = field(default_factory=dict)
    _drive_in_progress: DriveStep | None = None

    # ------------------------------------------------------------------ orders
    def receive_order(self, order: Order) -> bool:
        """Accept a new order or an update; on rejection record the VDA 5050 error and return False."""
        self._clear_order_errors()
        problem = self._validate(order)
        if problem:
            self._reject("validationError", problem, order)
            return False
        if order.orderId == self.order_id and self.order_id:
            return self._accept_update(order)
        if self.has_active_order():
            self._reject("orderUpdateError", f"order {self.order_id} is still active", order)
            return False
        first = order.nodes[0]
        if not self._is_at(first):
            self._reject("validationError", f"first node {first.nodeId} is not where the vehicle is", order)
            return False
        self.order_id, self.order_update_id = order.orderId, order.orderUpdateId
        self.action_states = {k: v for k, v in self.action_states.items() if k in self._running}
        self.node_states, self.edge_states = list(order.nodes), list(order.edges)
        self._reach(self.node_states.pop(0))
        for action in self._all_actions():
            self._set_action(action, ActionStatus.WAITING)
        return True

    def _accept_update(self, order: Order) -> bool:
        if order.orderUpdateId < self.order_update_id:
            self._reject(
                "orderUpdateError", f"orderUpdateId {order.orderUpdateId} is older than {self.order_update_id}", order
            )
            return False
        if order.orderUpdateId == self.order_update_id:
            return True  # a resent update: nothing new (VDA 5050 6.6.2)
        base_end_id, base_end_seq = self._decision_point()
        first = order.nodes[0]
        if (first.nodeId, first.sequenceId) != (base_end_id, base_end_seq):
            self._reject(
                "orderUpdateError",
                f"update must start at the end of the base {base_end_id}/{base_end_seq}, not {first.nodeId}/{first.sequenceId}",
                order,
            )
            return False
        # the old horizon is replaced: its actions leave the order (else they stay WAITING forever)
        for action in [a for n in self.node_states if not n.released for a in n.actions] + [
            a for e in self.edge_states if not e.released for a in e.actions
        ]:
            self.action_states.pop(action.actionId, None)
        self.node_states = [n for n in self.node_states if n.released]
        self.edge_states = [e for e in self.edge_states if e.released]
        new_nodes = list(order.nodes[1:])
        self.node_states += new_nodes
        self.edge_states += list(order.edges)
        self.order_update_id = order.orderUpdateId
        for action in [a for n in new_nodes for a in n.actions] + [a for e in order.edges for a in e.actions]:
            self._set_action(action, ActionStatus.WAITING)
        return True

    def _decision_point(self) -> tuple[str, int]:
        released = [n for n in self.node_states if n.released]
        if released:
            return released[-1].nodeId, released[-1].sequenceId
        return self.last_node_id, self.last_node_sequence_id

    def _validate(self, order: Order) -> str | None:
        if not order.nodes:
            return "order has no nodes"
        if len(order.edges) != len(order.nodes) - 1:
            return f"{len(order.nodes)} nodes need {len(order.nodes) - 1} edges, got {len(order.edges)}"
        for index, node in enumerate(order.nodes):
            if node.sequenceId % 2:
                return f"nodes[{index}] ({node.nodeId}): sequenceId {node.sequenceId} must be even"
            if index and node.released and not order.nodes[index - 1].released:
                return f"nodes[{index}] ({node.nodeId}): a released node cannot follow the unreleased horizon"
            if index and node.nodePosition is None:  # optional in VDA 5050, but we drive to coordinates
                return f"nodes[{index}] ({node.nodeId}): nodePosition is required: this vehicle drives to coordinates"
            for action in node.actions:
                if action.actionType not in self.supported_actions:
                    return f"nodes[{index}].actions: {action.actionType} is not supported by this vehicle"
        for index, edge in enumerate(order.edges):
            before, after = order.nodes[index], order.nodes[index + 1]
            if edge.sequenceId != before.sequenceId + 1 or after.sequenceId != edge.sequenceId + 1:
                return f"edges[{index}] ({edge.edgeId}): sequenceIds must run node, edge, node without gaps"
            if (edge.startNodeId, edge.endNodeId) != (before.nodeId, after.nodeId):
                return f"edges[{index}] ({edge.edgeId}): must join {before.nodeId} to {after.nodeId}"
            if edge.released and not after.released:
                return f"edges[{index}] ({edge.edgeId}): a released edge must end at a released node"
            if edge.actions:  # never started by next_step, so they would stay WAITING forever
                return f"edges[{index}].actions: {edge.actions[0].actionType}: this vehicle runs no edge actions"
        return None

    def _reject(self, error_type: str, description: str, order: Order) -> None:
        self.errors.append(
            Error(
                errorType=error_type,
                errorLevel="WARNING",
                errorDescription=description,
                errorReferences=[
                    ErrorReference(referenceKey="orderId", referenceValue=order.orderId),
                    ErrorReference(referenceKey="orderUpdateId", referenceValue=str(order.orderUpdateId)),
                ],
            )
        )

    def _clear_order_errors(self) -> None:
        kinds = {"validationError", "orderUpdateError", "noOrderToCancel"}
        self.errors = [e for e in self.errors if e.errorType not in kinds]

    def _is_at(self, node: Node) -> bool:
        if node.nodeId == self.last_node_id:
            return True
        pos = node.nodePosition
        if pos is None:
            return False
        deviation = pos.allowedDeviationXY or self.allowed_deviation_m
        return (
            pos.mapId == self.position.map_id
            and math.dist((pos.x, pos.y), (self.position.x_m, self.position.y_m)) <= deviation
        )

    def has_active_order(self) -> bool:
        """True while nodes remain or any order action has not ended."""
        return (
            bool(self.node_states)
            or self._drive_in_progress is not None
            or any(s.actionStatus not in _FINAL for s in self.action_states.values())
        )

    def _all_actions(self) -> list[Action]:
        return (
            [a for n in self.node_states for a in n.actions]
            + [a for e in self.edge_states for a in e.actions]
            + list(self._pending_actions)
        )

    def _reach(self, node: Node) -> None:
        self.last_node_id, self.last_node_sequence_id = node.nodeId, node.sequenceId
        if node.nodePosition is not None:
            p = node.nodePosition
            self.position = VehiclePosition(
                p.x, p.y, p.theta if p.theta is not None else self.position.yaw_rad, p.mapId
            )
        self.edge_states = [e for e in self.edge_states if e.sequenceId > node.sequenceId]
        if node.released:
            self._queue_node_actions(node)

    def _queue_node_actions(self, node: Node) -> None:
        queued = {a.actionId for a in self._pending_actions}
        for action in node.actions:
            if action.actionId not in queued and action.actionId not in self._running:
                self._pending_actions.append(action)

    # ---------------------------------------------------------------- progress
    def next_step(self) -> DriveStep | ActionStep | None:
        """What the vehicle should start now, or None while busy, paused or waiting for an update."""
        if self.paused or self.e_stop:
            return None
        if self._pending_actions:
            action = self._pending_actions[0]
            blocking = (
                any(self.action_states[a].actionStatus not in _FINAL for a in self._running if a in self.action_states)
                and action.blockingType == BlockingType.HARD
            )
            if blocking:
                return None
            self._pending_actions.pop(0)
            self._running.add(action.actionId)
            self._running_blocking[action.actionId] = action.blockingType
            self._set_action(action, ActionStatus.INITIALIZING)
            return ActionStep(action)
        if self._drive_in_progress is not None or self._hard_action_running():
            return None
        if not self.node_states or not self.edge_states:
            return None
        node, edge = self.node_states[0], self.edge_states[0]
        if not (node.released and edge.released):
            return None
        self._drive_in_progress = DriveStep(edge=edge, node=node, from_map_id=self.position.map_id)
        self.driving = True
        return self._drive_in_progress

    def _hard_action_running(self) -> bool:
        """A running SOFT or HARD action stops driving; NONE allows it (VDA 5050 6.12)."""
        return any(
            self.action_states[a].actionStatus not in _FINAL
            for a in self._running
            if a in self.action_states and self._running_blocking.get(a) != BlockingType.NONE
        )

    def arrived(self, node_id: str) -> None:
        """Navigation reached the node of the drive in progress."""
        step = self._drive_in_progress
        if step is None or step.node.nodeId != node_id:
            return
        self._drive_in_progress = None
        self.driving = False
        self.node_states.pop(0)
        self._reach(step.node)

    def drive_failed(self, reason: str) -> None:
        """Navigation could not reach the node: report it and stop where we are."""
        step = self._drive_in_progress
        self._drive_in_progress = None
        self.driving = False
        if step is not None:
            self.errors.append(
                Error(
                    errorType="navigationFailed",
                    errorLevel="WARNING",
                    errorDescription=reason,
                    errorReferences=[ErrorReference(referenceKey="nodeId", referenceValue=step.node.nodeId)],
                )
            )

    def abort_drive(self) -> None:
        """The drive in progress stops where the vehicle stands; next_step() starts it again (pause, e-stop)."""
        self._drive_in_progress = None
        self.driving = False

    def start_instant_action(self, action: Action) -> None:
        """Queue an instantAction that needs hardware (unlock, speak, ...); it runs without blocking."""
        instant = action.model_copy(update={"blockingType": BlockingType.NONE})
        self._pending_actions.insert(0, instant)
        self._set_action(instant, ActionStatus.WAITING)

    def update_action(self, action_id: str, status: ActionStatus, result: str | None = None) -> None:
        current = self.action_states.get(action_id)
        if current is None:
            return
        self.action_states[action_id] = current.model_copy(update={"actionStatus": status, "resultDescription": result})
        if status in _FINAL:
            self._running.discard(action_id)
            self._running_blocking.pop(action_id, None)

    def _set_action(self, action: Action, status: ActionStatus) -> None:
        self.action_states[action.actionId] = ActionState(
            actionId=action.actionId, actionType=action.actionType, actionStatus=status
        )

    def cancel_order(self, cancel_action: Action) -> list[str]:
        """cancelOrder: drop every node and waiting action; return running action ids to abort."""
        if not self.has_active_order():
            self.errors.append(
                Error(
                    errorType="noOrderToCancel",
                    errorLevel="WARNING",
                    errorDescription="there is no order to cancel",
                    errorReferences=[ErrorReference(referenceKey="actionId", referenceValue=cancel_action.actionId)],
                )
            )
            self._set_action(cancel_action, ActionStatus.FAILED)
            return []
        running = list(self._running)
        for action in self._all_actions():
            if action.actionId not in self._running:
                self.update_action(action.actionId, ActionStatus.FAILED, "order cancelled")
        self._pending_actions.clear()
        self.node_states, self.edge_states = [], []
        self._drive_in_progress = None
        self.driving = False
        self._set_action(cancel_action, ActionStatus.FINISHED)
        return running

    def engage_estop(self, source: str, description: str) -> bool:
        """Emergency stop: FATAL error, no driving and no new step until reset_estop(); the order is kept.

        ``source`` is REMOTE (from the fleet) or MANUAL (the robot's button). Returns False when the
        vehicle was already stopped (the first source stays reported).
        """
        if source not in ("REMOTE", "MANUAL"):
            raise ValueError(f"engage_estop: source must be REMOTE or MANUAL, got {source!r}")
        self.abort_drive()  # started again after reset
        if self.e_stop:
            return False
        self.e_stop, self.e_stop_source = True, source
        self.set_error("emergencyStop", "FATAL", description, True)
        return True

    def reset_estop(self) -> None:
        """Explicit reset (resetEmergencyStop once the base confirmed): the order continues where it stopped."""
        self.e_stop, self.e_stop_source = False, "NONE"
        self.set_error("emergencyStop", "FATAL", "", False)

    def finish_instant(self, action: Action, status: ActionStatus = ActionStatus.FINISHED) -> None:
        """Record an instant action the adapter handled on the spot (pause, stateRequest ...)."""
        self._set_action(action, status)

    # ------------------------------------------------------------------- state
    def set_pose(self, x_m: float, y_m: float, yaw_rad: float, map_id: str) -> None:
        self.position = VehiclePosition(x_m, y_m, yaw_rad, map_id)

    def set_error(self, error_type: str, level: str, description: str, active: bool) -> None:
        """Raise or clear a vehicle error of one type (e.g. an emergency stop)."""
        self.errors = [e for e in self.errors if e.errorType != error_type]
        if active:
            self.errors.append(Error(errorType=error_type, errorLevel=level, errorDescription=description))

    def set_info(self, info_type: str, description: str, references: dict[str, str] | None = None) -> None:
        self.information = [i for i in self.information if i.infoType != info_type]
        refs = [InfoReference(referenceKey=k, referenceValue=v) for k, v in (references or {}).items()] or None
        self.information.append(
            Information(infoType=info_type, infoLevel="INFO", infoDescription=description, infoReferences=refs)
        )

    def _estop_field(self) -> str:
        if not self.e_stop:
            return "NONE"
        return self.e_stop_source if self.e_stop_source != "NONE" else "MANUAL"

    def state(self, header_id: int, timestamp: str, linear_mps: float = 0.0, angular_radps: float = 0.0) -> State:
        return State(
            headerId=header_id,
            timestamp=timestamp,
            manufacturer=self.manufacturer,
            serialNumber=self.serial_number,
            orderId=self.order_id,
            orderUpdateId=self.order_update_id,
            lastNodeId=self.last_node_id,
            lastNodeSequenceId=self.last_node_sequence_id,
            driving=self.driving,
            paused=self.paused,
            operatingMode="AUTOMATIC",
            nodeStates=[
                NodeState(nodeId=n.nodeId, sequenceId=n.sequenceId, released=n.released, nodePosition=n.nodePosition)
                for n in self.node_states
            ],
            edgeStates=[
                EdgeState(edgeId=e.edgeId, sequenceId=e.sequenceId, released=e.released) for e in self.edge_states
            ],
            agvPosition=AgvPosition(
                x=self.position.x_m, y=self.position.y_m, theta=self.position.yaw_rad, mapId=self.position.map_id
            ),
            velocity=Velocity(vx=linear_mps, vy=0.0, omega=angular_radps),
            loads=list(self.loads),
            actionStates=list(self.action_states.values()),
            batteryState=BatteryState(
                batteryCharge=round(self.battery_charge_pct, 1),
                batteryVoltage=self.battery_voltage_v,
                charging=self.charging,
            ),
            errors=list(self.errors),
            information=list(self.information) or None,
            safetyState=SafetyState(eStop=self._estop_field(), fieldViolation=False),
        )
