"""VehicleCore against VDA 5050 2.1.0 section 6.6 (order, order update, base/horizon, cancelOrder)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from hallfleet.protocol.vda5050 import Action, ActionStatus, BlockingType, Edge, Node, NodePosition, Order, State
from robots.core.vehicle import ActionStep, DriveStep, VehicleCore, VehiclePosition

SCHEMAS = Path(__file__).resolve().parents[2] / "hallfleet" / "protocol" / "schemas"
TS = "2024-05-01T08:00:00.000Z"

# node id -> (x, y, mapId); F1 is floor 1, F2 floor 2 (reached via the elevator)
POSITIONS = {
    "A": (0.0, 0.0, "F1"),
    "B": (5.0, 0.0, "F1"),
    "C": (10.0, 0.0, "F1"),
    "D": (10.0, 5.0, "F1"),
    "E": (10.0, 10.0, "F1"),
    "X": (50.0, 50.0, "F1"),
    "LIFT1": (20.0, 0.0, "F1"),
    "LIFT2": (20.0, 0.0, "F2"),
    "G": (25.0, 3.0, "F2"),
}


def _state_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "state.schema").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


STATE_VALIDATOR = _state_validator()


def node(node_id: str, seq: int, released: bool = True, actions: list[Action] | None = None) -> Node:
    x, y, map_id = POSITIONS[node_id]
    return Node(
        nodeId=node_id,
        sequenceId=seq,
        released=released,
        nodePosition=NodePosition(x=x, y=y, mapId=map_id),
        actions=actions or [],
    )


def edge(start: str, end: str, seq: int, released: bool = True) -> Edge:
    return Edge(edgeId=f"{start}-{end}", sequenceId=seq, released=released, startNodeId=start, endNodeId=end)


def order(
    route: list[str],
    released: int,
    *,
    order_id: str = "o1",
    update_id: int = 0,
    first_seq: int = 0,
    actions: dict[str, list[Action]] | None = None,
) -> Order:
    """Nodes ``route`` with sequenceIds from ``first_seq``; the first ``released`` nodes form the base."""
    actions = actions or {}
    nodes = [node(n, first_seq + 2 * i, i < released, actions.get(n)) for i, n in enumerate(route)]
    edges = [edge(a, b, first_seq + 2 * i + 1, i + 1 < released) for i, (a, b) in enumerate(zip(route, route[1:]))]
    return Order(
        headerId=1,
        timestamp=TS,
        manufacturer="hall",
        serialNumber="d1",
        orderId=order_id,
        orderUpdateId=update_id,
        nodes=nodes,
        edges=edges,
    )


def load_action(action_id: str = "load1", blocking: BlockingType = BlockingType.HARD) -> Action:
    return Action(actionType="loadDocuments", actionId=action_id, blockingType=blocking)


def core_at(node_id: str = "A") -> VehicleCore:
    x, y, map_id = POSITIONS[node_id]
    return VehicleCore(
        manufacturer="hall",
        serial_number="d1",
        supported_actions={"loadDocuments", "unloadDocuments", "unlockCompartment", "lockCompartment"},
        position=VehiclePosition(x, y, 0.0, map_id),
    )


def drive_all(core: VehicleCore) -> list[str]:
    """Drive every released step the core hands out; returns the node ids reached, in order."""
    reached = []
    for _ in range(50):
        step = core.next_step()
        if not isinstance(step, DriveStep):
            assert step is None, f"unexpected {step}"
            return reached
        core.arrived(step.node.nodeId)
        reached.append(step.node.nodeId)
    raise AssertionError("the core never stopped handing out drive steps")


def state_dict(core: VehicleCore, header_id: int = 1) -> dict:
    data = core.state(header_id, TS).to_dict()
    STATE_VALIDATOR.validate(data)
    return data


def error_types(core: VehicleCore) -> list[str]:
    return [e["errorType"] for e in state_dict(core)["errors"]]


# ------------------------------------------------------------------ accepting and driving


def test_fresh_order_drives_released_edges_one_at_a_time_and_stops_at_the_decision_point() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C", "D"], released=3))

    first = core.next_step()
    assert isinstance(first, DriveStep)
    assert (first.edge.edgeId, first.node.nodeId) == ("A-B", "B")
    assert core.next_step() is None, "a second drive must not start before the first arrived"
    core.arrived("B")
    second = core.next_step()
    assert isinstance(second, DriveStep) and second.node.nodeId == "C"
    core.arrived("C")
    assert core.next_step() is None, "C is the decision point: D is only in the horizon"

    s = state_dict(core)
    assert (s["orderId"], s["lastNodeId"], s["lastNodeSequenceId"]) == ("o1", "C", 4)
    assert [(n["nodeId"], n["released"]) for n in s["nodeStates"]] == [("D", False)]
    assert [(e["edgeId"], e["released"]) for e in s["edgeStates"]] == [("C-D", False)]
    assert s["driving"] is False


def test_order_whose_first_node_is_far_away_is_rejected() -> None:
    core = core_at("A")
    assert not core.receive_order(order(["X", "C"], released=2))
    assert "validationError" in error_types(core)
    assert state_dict(core)["orderId"] == ""
    assert core.next_step() is None


def test_order_update_at_the_decision_point_extends_the_base_and_driving_continues() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C", "D"], released=2))
    assert drive_all(core) == ["B"]
    update = order(["B", "C", "D", "E"], released=4, update_id=1, first_seq=2)
    assert core.receive_order(update)
    assert state_dict(core)["orderUpdateId"] == 1
    assert drive_all(core) == ["C", "D", "E"]
    s = state_dict(core)
    assert (s["lastNodeId"], s["lastNodeSequenceId"], s["nodeStates"], s["edgeStates"]) == ("E", 8, [], [])
    assert not core.has_active_order()


def test_update_sent_while_still_driving_to_the_decision_point_is_stitched() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C", "D"], released=3))
    step = core.next_step()
    assert isinstance(step, DriveStep) and step.node.nodeId == "B"
    # base ends at C (seq 4), vehicle is still on its way to B
    assert core.receive_order(order(["C", "D", "E"], released=3, update_id=1, first_seq=4))
    core.arrived("B")
    assert drive_all(core) == ["C", "D", "E"]


def test_update_replaces_the_horizon() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C", "D"], released=2))
    assert drive_all(core) == ["B"]
    # master changes its mind: from B go to E instead of C, D (sequenceIds continue from B)
    new = Order(
        headerId=2,
        timestamp=TS,
        manufacturer="hall",
        serialNumber="d1",
        orderId="o1",
        orderUpdateId=1,
        nodes=[node("B", 2), node("E", 4)],
        edges=[edge("B", "E", 3)],
    )
    assert core.receive_order(new)
    s = state_dict(core)
    assert [n["nodeId"] for n in s["nodeStates"]] == ["E"]
    assert [e["edgeId"] for e in s["edgeStates"]] == ["B-E"]
    assert drive_all(core) == ["E"]


def test_replaced_horizon_actions_do_not_keep_the_order_active() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C"], released=2, actions={"C": [load_action("old")]}))
    assert drive_all(core) == ["B"]
    new = Order(
        headerId=2,
        timestamp=TS,
        manufacturer="hall",
        serialNumber="d1",
        orderId="o1",
        orderUpdateId=1,
        nodes=[node("B", 2), node("E", 4)],
        edges=[edge("B", "E", 3)],
    )
    assert core.receive_order(new)
    assert [a["actionId"] for a in state_dict(core)["actionStates"]] == [], "C and its action left the order"
    assert drive_all(core) == ["E"]
    assert not core.has_active_order()
    assert core.receive_order(order(["E", "D"], released=2, order_id="o2"))


def test_none_blocking_action_lets_the_vehicle_drive() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2))
    core.start_instant_action(Action(actionType="unlockCompartment", actionId="u1"))
    assert isinstance(core.next_step(), ActionStep)
    core.update_action("u1", ActionStatus.RUNNING)
    step = core.next_step()
    assert isinstance(step, DriveStep), "a NONE action allows driving (VDA 5050 6.12)"


def test_soft_node_action_blocks_driving_until_it_ends() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2, actions={"A": [load_action(blocking=BlockingType.SOFT)]}))
    assert isinstance(core.next_step(), ActionStep)
    assert core.next_step() is None
    core.update_action("load1", ActionStatus.FINISHED)
    assert drive_all(core) == ["B"]


def test_update_after_the_order_completed_continues_from_the_last_node() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2))
    assert drive_all(core) == ["B"]
    assert not core.has_active_order()
    assert core.receive_order(order(["B", "C"], released=2, update_id=1, first_seq=2))
    assert drive_all(core) == ["C"]


def test_update_not_starting_at_the_decision_point_is_rejected_and_nothing_changes() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C", "D"], released=3))
    before = state_dict(core)
    # starts at B although the base ends at C
    assert not core.receive_order(order(["B", "E"], released=2, update_id=1, first_seq=2))
    after = state_dict(core)
    assert "orderUpdateError" in error_types(core)
    error = next(e for e in after["errors"] if e["errorType"] == "orderUpdateError")
    assert {"referenceKey": "orderId", "referenceValue": "o1"} in error["errorReferences"]
    assert error["errorLevel"] == "WARNING"
    for key in ("orderId", "orderUpdateId", "lastNodeId", "nodeStates", "edgeStates", "actionStates"):
        assert after[key] == before[key], key
    assert drive_all(core) == ["B", "C"]


def test_update_with_right_node_but_wrong_sequence_id_is_rejected() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C"], released=2))
    assert drive_all(core) == ["B"]
    assert not core.receive_order(order(["B", "C"], released=2, update_id=1, first_seq=6))
    assert "orderUpdateError" in error_types(core)


def test_lower_order_update_id_is_rejected_and_the_previous_order_kept() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C"], released=2, update_id=3))
    assert not core.receive_order(order(["B", "C"], released=2, update_id=2, first_seq=2))
    assert "orderUpdateError" in error_types(core)
    s = state_dict(core)
    assert s["orderUpdateId"] == 3
    assert [(n["nodeId"], n["released"]) for n in s["nodeStates"]] == [("B", True), ("C", False)]
    assert drive_all(core) == ["B"]


def test_same_order_update_resent_is_ignored() -> None:
    core = core_at("A")
    original = order(["A", "B", "C"], released=2)
    assert core.receive_order(original)
    assert drive_all(core) == ["B"]
    before = state_dict(core)
    assert core.receive_order(original), "a resent order is not an error"
    after = state_dict(core)
    assert after == before
    assert drive_all(core) == [], "the resent base must not be driven again"


def test_new_order_while_one_is_active_is_rejected() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C"], released=2))
    assert not core.receive_order(order(["A", "D"], released=2, order_id="o2"))
    s = state_dict(core)
    assert s["orderId"] == "o1"
    assert any(e["errorType"] in {"orderUpdateError", "validationError"} for e in s["errors"])
    assert [n["nodeId"] for n in s["nodeStates"]] == ["B", "C"]


def test_new_order_after_the_previous_one_finished_is_accepted_and_clears_the_warning() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2))
    assert not core.receive_order(order(["A", "C"], released=2, order_id="o2"))
    assert drive_all(core) == ["B"]
    assert core.receive_order(order(["B", "C"], released=2, order_id="o2"))
    s = state_dict(core)
    assert s["orderId"] == "o2" and s["orderUpdateId"] == 0
    assert s["errors"] == [], "rejection warnings stay only until a new order is accepted"


# ------------------------------------------------------------------ validation


def _raw_order(nodes: list[Node], edges: list[Edge]) -> Order:
    return Order(
        headerId=1,
        timestamp=TS,
        manufacturer="hall",
        serialNumber="d1",
        orderId="bad",
        orderUpdateId=0,
        nodes=nodes,
        edges=edges,
    )


@pytest.mark.parametrize(
    ("nodes", "edges", "words"),
    [
        ([node("A", 1), node("B", 3)], [edge("A", "B", 2)], "sequenceId"),
        ([node("A", 0), node("B", 2)], [edge("A", "C", 1)], "must join"),
        ([node("A", 0), node("B", 2)], [edge("A", "B", 5)], "sequenceId"),
        ([node("A", 0), node("B", 2)], [], "edges"),
        ([], [], "no nodes"),
        ([node("A", 0), node("B", 2, released=False)], [edge("A", "B", 1, released=True)], "released"),
        (
            [node("A", 0), node("B", 2, released=False), node("C", 4)],
            [edge("A", "B", 1, released=False), edge("B", "C", 3, released=False)],
            "released",
        ),
    ],
    ids=[
        "odd-node-seq",
        "edge-not-joining",
        "edge-seq-gap",
        "missing-edge",
        "no-nodes",
        "released-edge-to-horizon",
        "released-node-after-horizon",
    ],
)
def test_malformed_orders_raise_validation_error(nodes: list[Node], edges: list[Edge], words: str) -> None:
    core = core_at("A")
    assert not core.receive_order(_raw_order(nodes, edges))
    s = state_dict(core)
    errors = [e for e in s["errors"] if e["errorType"] == "validationError"]
    assert len(errors) == 1
    assert words in errors[0]["errorDescription"]
    assert s["orderId"] == "" and s["nodeStates"] == []


def test_node_action_of_an_unsupported_type_is_rejected() -> None:
    core = core_at("A")
    lift = Action(actionType="pick", actionId="p1")
    assert not core.receive_order(order(["A", "B"], released=2, actions={"B": [lift]}))
    s = state_dict(core)
    error = next(e for e in s["errors"] if e["errorType"] == "validationError")
    assert "pick" in error["errorDescription"]
    assert s["nodeStates"] == [] and s["actionStates"] == []


def test_edge_actions_are_rejected_because_the_vehicle_never_runs_them() -> None:
    core = core_at("A")
    bad = order(["A", "B"], released=2)
    bad.edges[0].actions.append(load_action())
    assert not core.receive_order(bad)
    assert "validationError" in error_types(core)
    assert not core.has_active_order()


# ------------------------------------------------------------------ actions


def test_node_action_runs_on_arrival_and_a_hard_action_blocks_driving_until_finished() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C"], released=3, actions={"B": [load_action()]}))
    assert state_dict(core)["actionStates"] == [
        {"actionId": "load1", "actionType": "loadDocuments", "actionStatus": "WAITING"}
    ]
    step = core.next_step()
    assert isinstance(step, DriveStep) and step.node.nodeId == "B"
    core.arrived("B")
    action_step = core.next_step()
    assert isinstance(action_step, ActionStep) and action_step.action.actionId == "load1"
    assert core.next_step() is None, "the HARD action is initializing: no driving"
    core.update_action("load1", ActionStatus.RUNNING)
    assert core.next_step() is None, "the HARD action is running: no driving"
    s = state_dict(core)
    assert s["actionStates"][0]["actionStatus"] == "RUNNING"
    core.update_action("load1", ActionStatus.FINISHED, "loaded")
    step = core.next_step()
    assert isinstance(step, DriveStep) and step.node.nodeId == "C"
    core.arrived("C")
    s = state_dict(core)
    assert s["actionStates"] == [
        {"actionId": "load1", "actionType": "loadDocuments", "actionStatus": "FINISHED", "resultDescription": "loaded"}
    ]
    assert not core.has_active_order()


def test_two_hard_loads_at_one_node_run_one_after_the_other_then_the_robot_drives() -> None:
    """Two deliveries loaded at one window: the second compartment is armed only once the first is done."""
    core = core_at("A")
    assert core.receive_order(
        order(["A", "B", "C"], released=3, actions={"B": [load_action("load1"), load_action("load2")]})
    )
    core.arrived(core.next_step().node.nodeId)
    first = core.next_step()
    assert isinstance(first, ActionStep) and first.action.actionId == "load1"
    core.update_action("load1", ActionStatus.RUNNING)
    assert core.next_step() is None, "the second HARD load waits for the first"
    core.update_action("load1", ActionStatus.FINISHED)
    second = core.next_step()
    assert isinstance(second, ActionStep) and second.action.actionId == "load2"
    core.update_action("load2", ActionStatus.RUNNING)
    assert core.next_step() is None, "no driving while the second load runs"
    core.update_action("load2", ActionStatus.FINISHED)
    assert drive_all(core) == ["C"]


def test_action_on_the_first_node_runs_before_driving() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2, actions={"A": [load_action()]}))
    step = core.next_step()
    assert isinstance(step, ActionStep) and step.action.actionId == "load1"
    assert core.next_step() is None
    core.update_action("load1", ActionStatus.FAILED, "nobody came")
    assert drive_all(core) == ["B"]


def test_actions_of_horizon_nodes_are_reported_waiting_and_do_not_start_before_release() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B", "C"], released=2, actions={"C": [load_action()]}))
    assert drive_all(core) == ["B"]
    assert [a["actionStatus"] for a in state_dict(core)["actionStates"]] == ["WAITING"]
    assert core.has_active_order()
    assert core.receive_order(order(["B", "C"], released=2, update_id=1, first_seq=2, actions={"C": [load_action()]}))
    step = core.next_step()
    assert isinstance(step, DriveStep)
    core.arrived("C")
    step = core.next_step()
    assert isinstance(step, ActionStep) and step.action.actionId == "load1"


def test_instant_action_runs_even_while_a_hard_node_action_runs() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2, actions={"A": [load_action()]}))
    assert isinstance(core.next_step(), ActionStep)
    core.update_action("load1", ActionStatus.RUNNING)
    unlock = Action(actionType="unlockCompartment", actionId="u1", blockingType=BlockingType.HARD)
    core.start_instant_action(unlock)
    step = core.next_step()
    assert isinstance(step, ActionStep) and step.action.actionId == "u1"
    assert step.action.blockingType == BlockingType.NONE
    core.update_action("u1", ActionStatus.FINISHED, "opened")
    assert core.next_step() is None, "loadDocuments still runs"


def test_paused_vehicle_does_not_drive() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2))
    core.paused = True
    assert core.next_step() is None
    core.paused = False
    assert drive_all(core) == ["B"]


# ------------------------------------------------------------------ cancel, failure, maps


def test_cancel_order_without_an_order_reports_no_order_to_cancel() -> None:
    core = core_at("A")
    cancel = Action(actionType="cancelOrder", actionId="c1", blockingType=BlockingType.NONE)
    assert core.cancel_order(cancel) == []
    s = state_dict(core)
    error = next(e for e in s["errors"] if e["errorType"] == "noOrderToCancel")
    assert error["errorLevel"] == "WARNING"
    assert error["errorReferences"] == [{"referenceKey": "actionId", "referenceValue": "c1"}]
    assert {"actionId": "c1", "actionType": "cancelOrder", "actionStatus": "FAILED"} in s["actionStates"]


def test_cancel_order_clears_nodes_fails_waiting_actions_and_keeps_the_order_id() -> None:
    core = core_at("A")
    assert core.receive_order(
        order(["A", "B", "C", "D"], released=3, actions={"C": [load_action("load1")], "D": [load_action("load2")]})
    )
    step = core.next_step()
    assert isinstance(step, DriveStep)
    cancel = Action(actionType="cancelOrder", actionId="c1", blockingType=BlockingType.NONE)
    assert core.cancel_order(cancel) == []
    s = state_dict(core)
    assert (s["orderId"], s["orderUpdateId"]) == ("o1", 0)
    assert s["nodeStates"] == [] and s["edgeStates"] == [] and s["driving"] is False
    statuses = {a["actionId"]: a["actionStatus"] for a in s["actionStates"]}
    assert statuses == {"load1": "FAILED", "load2": "FAILED", "c1": "FINISHED"}
    assert core.next_step() is None
    core.arrived("B")  # a late arrival of the cancelled drive changes nothing
    assert state_dict(core)["lastNodeId"] == "A"
    # the vehicle is ready for a new order, and a second cancel has nothing to cancel
    assert core.cancel_order(Action(actionType="cancelOrder", actionId="c2")) == []
    assert "noOrderToCancel" in error_types(core)
    assert core.receive_order(order(["A", "E"], released=2, order_id="o2"))


def test_cancel_order_returns_running_actions_to_abort() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2, actions={"A": [load_action()]}))
    assert isinstance(core.next_step(), ActionStep)
    core.update_action("load1", ActionStatus.RUNNING)
    assert core.cancel_order(Action(actionType="cancelOrder", actionId="c1")) == ["load1"]
    assert state_dict(core)["nodeStates"] == []


def test_drive_failure_is_reported_and_the_vehicle_stays_at_the_last_node() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=2))
    assert isinstance(core.next_step(), DriveStep)
    core.drive_failed("path blocked by a trolley")
    s = state_dict(core)
    error = next(e for e in s["errors"] if e["errorType"] == "navigationFailed")
    assert error["errorDescription"] == "path blocked by a trolley"
    assert error["errorReferences"] == [{"referenceKey": "nodeId", "referenceValue": "B"}]
    assert s["lastNodeId"] == "A" and s["driving"] is False


def test_drive_to_a_node_on_another_map_is_a_map_transfer() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "LIFT1", "LIFT2", "G"], released=4))
    first = core.next_step()
    assert isinstance(first, DriveStep) and not first.is_map_transfer
    core.arrived("LIFT1")
    ride = core.next_step()
    assert isinstance(ride, DriveStep) and ride.node.nodeId == "LIFT2"
    assert ride.from_map_id == "F1" and ride.is_map_transfer
    core.arrived("LIFT2")
    assert state_dict(core)["agvPosition"]["mapId"] == "F2"
    last = core.next_step()
    assert isinstance(last, DriveStep) and not last.is_map_transfer


# ------------------------------------------------------------------ state message


def test_state_has_the_fields_a_master_expects() -> None:
    core = core_at("A")
    core.battery_charge_pct = 87.34
    core.charging = True
    initial = state_dict(core, header_id=0)
    assert (initial["orderId"], initial["orderUpdateId"], initial["nodeStates"], initial["actionStates"]) == (
        "",
        0,
        [],
        [],
    )
    assert initial["errors"] == []

    assert core.receive_order(order(["A", "B", "C"], released=3, actions={"B": [load_action()]}))
    step = core.next_step()
    assert isinstance(step, DriveStep)
    driving = core.state(5, TS, linear_mps=0.4).to_dict()
    STATE_VALIDATOR.validate(driving)
    assert driving["headerId"] == 5 and driving["version"] == "2.1.0"
    assert (driving["manufacturer"], driving["serialNumber"]) == ("hall", "d1")
    assert driving["driving"] is True
    assert driving["velocity"]["vx"] == 0.4
    assert driving["lastNodeId"] == "A" and driving["lastNodeSequenceId"] == 0
    assert [n["nodeId"] for n in driving["nodeStates"]] == ["B", "C"]
    assert driving["nodeStates"][0]["nodePosition"]["mapId"] == "F1"
    assert [e["edgeId"] for e in driving["edgeStates"]] == ["A-B", "B-C"]
    assert driving["agvPosition"] == {"x": 0.0, "y": 0.0, "theta": 0.0, "mapId": "F1", "positionInitialized": True}
    assert driving["batteryState"] == {"batteryCharge": 87.3, "charging": True}
    assert driving["safetyState"] == {"eStop": "NONE", "fieldViolation": False}

    core.arrived("B")
    assert isinstance(core.next_step(), ActionStep)
    core.e_stop = True
    core.set_error("emergencyStop", "FATAL", "e-stop pressed", True)
    at_b = state_dict(core)
    assert at_b["lastNodeId"] == "B" and at_b["lastNodeSequenceId"] == 2
    assert at_b["agvPosition"]["x"] == 5.0
    assert at_b["actionStates"][0]["actionStatus"] == "INITIALIZING"
    assert at_b["safetyState"]["eStop"] == "MANUAL"
    assert {"errorType": "emergencyStop", "errorLevel": "FATAL", "errorDescription": "e-stop pressed"} in at_b["errors"]
    core.set_error("emergencyStop", "FATAL", "", False)
    core.set_info("compartment1", "holds files", {"compartmentId": "1"})
    info = state_dict(core)
    assert info["errors"] == []
    assert info["information"][0]["infoReferences"] == [{"referenceKey": "compartmentId", "referenceValue": "1"}]


def test_state_round_trips_through_the_model() -> None:
    core = core_at("A")
    assert core.receive_order(order(["A", "B"], released=1))
    data = state_dict(core)
    assert State.model_validate(data).to_dict() == data
