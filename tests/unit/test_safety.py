"""Emergency stop and charging: protocol message, firmware model, vehicle core and fleet robot view (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from fleet_api.domain.robots import RobotView
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol.vda5050 import (
    BatteryState,
    Edge,
    Node,
    NodePosition,
    Order,
    State,
    utc_timestamp,
)
from robots.core.base_protocol import ChargeCmd, EstopCmd, FrameDecoder, VelocityCmd, encode
from robots.core.vehicle import DriveStep, VehicleCore, VehiclePosition
from robots.sim.firmware import FirmwareState

SCHEMAS = Path(__file__).resolve().parents[2] / "hallfleet" / "protocol" / "schemas"
TS = "2024-05-01T08:00:00.000Z"


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "state.schema").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


STATE_VALIDATOR = _validator()


# ------------------------------------------------------------------ protocol
@pytest.mark.parametrize("msg", [ChargeCmd(True), ChargeCmd(False)], ids=["on", "off"])
def test_charge_cmd_round_trips(msg: ChargeCmd) -> None:
    frame = encode(msg)
    assert frame[2] == 0x05 and frame[1] == 1
    decoder = FrameDecoder()
    assert decoder.feed(frame) == [msg]
    assert decoder.frames_ok == 1 and decoder.unknown_types == 0


# ------------------------------------------------------------------ firmware model
def _driving_board() -> FirmwareState:
    board = FirmwareState(compartments=2, battery=0.5, seed=1, time_scale=10.0)
    board.handle(VelocityCmd(0.8, 0.0), now_s=0.0)
    board.step(0.01, now_s=0.01)
    assert board.odometry(0.01).linear_mps > 0.5
    return board


def test_estop_cmd_zeroes_the_next_odometry_and_ignores_velocity_until_reset() -> None:
    board = _driving_board()
    board.handle(EstopCmd(True), now_s=0.02)
    assert board.odometry(0.02).linear_mps == 0.0 and board.status(0.02).estop
    board.handle(VelocityCmd(0.8, 0.0), now_s=0.03)
    x_before = board.pose.x_m
    board.step(0.01, now_s=0.04)
    assert board.pose.x_m == x_before and board.odometry(0.04).linear_mps == 0.0
    board.handle(EstopCmd(False), now_s=0.05)
    assert not board.status(0.05).estop
    assert board.odometry(0.05).linear_mps == 0.0, "a reset must not resume the old set-point"


def test_button_latches_until_host_reset() -> None:
    board = _driving_board()
    board.press_estop_button()
    assert board.status(0.02).estop and board.odometry(0.02).linear_mps == 0.0
    for t in range(3, 10):  # heartbeats and velocity commands do not release it
        board.handle(VelocityCmd(0.5, 0.0), now_s=t / 100)
        board.step(0.01, now_s=t / 100)
        assert board.status(t / 100).estop
    board.handle(EstopCmd(False), now_s=0.1)
    assert not board.status(0.1).estop


def test_charge_cmd_charges_the_pack() -> None:
    board = FirmwareState(compartments=2, battery=0.2, seed=1, time_scale=100.0)
    board.handle(ChargeCmd(True), now_s=0.0)
    board.step(1.0, now_s=1.0)
    battery = board.battery_msg()
    assert battery.charging and battery.percentage > 0.2
    board.handle(ChargeCmd(False), now_s=1.0)
    board.step(1.0, now_s=2.0)
    assert not board.battery_msg().charging and board.battery_msg().percentage < battery.percentage


# ------------------------------------------------------------------ vehicle core
def _node(node_id: str, x: float, seq: int) -> Node:
    return Node(nodeId=node_id, sequenceId=seq, released=True, nodePosition=NodePosition(x=x, y=0.0, mapId="F1"))


def _order(order_id: str = "o1") -> Order:
    nodes = [_node("A", 0.0, 0), _node("B", 5.0, 2), _node("C", 10.0, 4)]
    edges = [
        Edge(
            edgeId=f"{a.nodeId}-{b.nodeId}",
            sequenceId=a.sequenceId + 1,
            released=True,
            startNodeId=a.nodeId,
            endNodeId=b.nodeId,
        )
        for a, b in zip(nodes, nodes[1:])
    ]
    return Order(
        headerId=1,
        timestamp=TS,
        manufacturer="hall",
        serialNumber="d1",
        orderId=order_id,
        orderUpdateId=0,
        nodes=nodes,
        edges=edges,
    )


def _core() -> VehicleCore:
    supported = {spec.action_type for spec in ha.actions_for("delivery")}
    return VehicleCore("hall", "d1", supported, VehiclePosition(0.0, 0.0, 0.0, "F1"))


def _state(core: VehicleCore) -> dict:
    data = core.state(1, TS).to_dict()
    STATE_VALIDATOR.validate(data)
    return data


def test_remote_estop_is_fatal_stops_driving_and_keeps_the_order_until_reset() -> None:
    core = _core()
    assert core.receive_order(_order())
    step = core.next_step()
    assert isinstance(step, DriveStep) and core.driving
    assert core.engage_estop("REMOTE", "emergency stop by tech")
    stopped = _state(core)
    assert stopped["driving"] is False and stopped["safetyState"]["eStop"] == "REMOTE"
    assert {
        "errorType": "emergencyStop",
        "errorLevel": "FATAL",
        "errorDescription": "emergency stop by tech",
    } in stopped["errors"]
    assert [n["nodeId"] for n in stopped["nodeStates"]] == ["B", "C"], "the order is kept"
    core.paused = False  # stopPause does not release an e-stop
    assert core.next_step() is None
    core.arrived("B")  # a late arrival of the aborted drive changes nothing
    assert core.last_node_id == "A"

    core.reset_estop()
    after = _state(core)
    assert after["errors"] == [] and after["safetyState"]["eStop"] == "NONE"
    resumed = core.next_step()
    assert isinstance(resumed, DriveStep) and resumed.node.nodeId == "B"


def test_new_order_while_stopped_is_held_until_reset() -> None:
    core = _core()
    core.engage_estop("MANUAL", "button")
    assert core.receive_order(_order("o2"))
    assert core.next_step() is None and core.driving is False
    assert _state(core)["safetyState"]["eStop"] == "MANUAL"
    assert not core.engage_estop("REMOTE", "again"), "the first source stays reported"
    assert _state(core)["safetyState"]["eStop"] == "MANUAL"
    core.reset_estop()
    assert isinstance(core.next_step(), DriveStep)


def test_engage_estop_rejects_an_unknown_source() -> None:
    with pytest.raises(ValueError, match="REMOTE or MANUAL"):
        _core().engage_estop("SOMEONE", "x")


# ------------------------------------------------------------------ factsheet and fleet view
@pytest.mark.parametrize("kind", ["delivery", "guidance"])
def test_both_kinds_declare_safety_and_charging_actions(kind: str) -> None:
    sheet = ha.build_factsheet("HallFleet", "r1", kind)
    actions = {a["actionType"]: a for a in sheet["protocolFeatures"]["agvActions"]}
    assert actions["emergencyStop"]["actionScopes"] == ["INSTANT"]
    assert actions["resetEmergencyStop"]["actionScopes"] == ["INSTANT"]
    assert "NODE" in actions["startCharging"]["actionScopes"] and "stopCharging" in actions


def _view(battery_pct: float, charging: bool = False) -> RobotView:
    view = RobotView("d1", "hall", "delivery", online=True)
    view.state = State(
        headerId=1,
        timestamp=utc_timestamp(),
        manufacturer="hall",
        serialNumber="d1",
        batteryState=BatteryState(batteryCharge=battery_pct, charging=charging),
    )
    return view


def test_robot_view_charge_hysteresis() -> None:
    view = _view(24.0)
    assert view.update_charge_need(25.0, 60.0) and not view.is_free_for_delivery()
    view.state = view.state.model_copy(update={"batteryState": BatteryState(batteryCharge=45.0, charging=True)})
    assert view.update_charge_need(25.0, 60.0), "still charging below 60 %"
    assert not view.is_free_for_delivery()
    view.state = view.state.model_copy(update={"batteryState": BatteryState(batteryCharge=61.0, charging=True)})
    assert not view.update_charge_need(25.0, 60.0) and view.is_free_for_delivery()
    assert _view(45.0).is_free_for_delivery(), "never low: free at 45 %"
