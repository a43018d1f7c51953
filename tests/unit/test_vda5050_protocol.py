"""Our VDA 5050 messages against the official 2.1.0 JSON schemas; decode errors name topic and field."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from vda_schemas import validator

from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from hallfleet.protocol.pins import hash_pin
from robots.core.vehicle import VehicleCore, VehiclePosition

TS = "2024-05-01T08:00:00.000Z"


def check(name: str, message: dict) -> None:
    errors = sorted(validator(name).iter_errors(message), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{name}: {list(e.absolute_path)}: {e.message}" for e in errors)


def sample_order() -> v.Order:
    load = v.Action(
        actionType=ha.LOAD_DOCUMENTS,
        actionId="a1",
        actionParameters=[
            v.ActionParameter(key="deliveryId", value="D-1"),
            v.ActionParameter(key="compartmentId", value=1),
            v.ActionParameter(key="pinHash", value=hash_pin("123456", salt="x")),
        ],
    )
    nodes = [
        v.Node(nodeId="A", sequenceId=0, released=True, nodePosition=v.NodePosition(x=0.0, y=0.0, mapId="F1")),
        v.Node(
            nodeId="B",
            sequenceId=2,
            released=True,
            actions=[load],
            nodePosition=v.NodePosition(x=4.0, y=1.0, theta=1.57, mapId="F1", allowedDeviationXY=0.3),
        ),
        v.Node(nodeId="C", sequenceId=4, released=False, nodePosition=v.NodePosition(x=4.0, y=5.0, mapId="F1")),
    ]
    edges = [
        v.Edge(edgeId="A>B", sequenceId=1, released=True, startNodeId="A", endNodeId="B", maxSpeed=0.8),
        v.Edge(edgeId="B>C", sequenceId=3, released=False, startNodeId="B", endNodeId="C"),
    ]
    return v.Order(
        headerId=3,
        timestamp=TS,
        manufacturer="hall",
        serialNumber="d1",
        orderId="o1",
        orderUpdateId=0,
        nodes=nodes,
        edges=edges,
    )


# ------------------------------------------------------------------ schemas


def test_order_validates_and_round_trips() -> None:
    order = sample_order()
    data = order.to_dict()
    check("order", data)
    assert data["version"] == "2.1.0"
    assert "zoneSetId" not in data, "unset optional fields are left out"
    decoded = v.decode("order", v.encode(order))
    assert isinstance(decoded, v.Order)
    assert decoded.nodes[1].actions[0].param("deliveryId") == "D-1"
    assert decoded.nodes[1].actions[0].param("missing", 7) == 7
    assert decoded.to_dict() == data


def test_instant_actions_validate() -> None:
    message = v.InstantActions(
        headerId=0,
        timestamp=TS,
        manufacturer="hall",
        serialNumber="g1",
        actions=[
            v.Action(actionType="cancelOrder", actionId="c1", blockingType=v.BlockingType.NONE),
            v.Action(
                actionType=ha.SPEAK,
                actionId="s1",
                blockingType=v.BlockingType.NONE,
                actionParameters=[
                    v.ActionParameter(key="text", value="请到3号窗口"),
                    v.ActionParameter(key="language", value="zh-CN"),
                ],
            ),
        ],
    )
    check("instantActions", message.to_dict())
    assert "请到3号窗口".encode() in v.encode(message), "Chinese text stays readable UTF-8"


def test_connection_validates() -> None:
    for state in v.ConnectionState:
        message = v.Connection(headerId=1, timestamp=TS, manufacturer="hall", serialNumber="d1", connectionState=state)
        check("connection", message.to_dict())


def test_visualization_validates() -> None:
    message = v.Visualization(
        headerId=4,
        timestamp=TS,
        manufacturer="hall",
        serialNumber="d1",
        agvPosition=v.AgvPosition(x=1.0, y=2.0, theta=0.5, mapId="F2"),
        velocity=v.Velocity(vx=0.3, vy=0.0, omega=0.1),
    )
    check("visualization", message.to_dict())


def test_state_from_vehicle_core_validates_at_several_points() -> None:
    core = VehicleCore("hall", "d1", {ha.LOAD_DOCUMENTS}, VehiclePosition(0.0, 0.0, 0.0, "F1"))
    check("state", core.state(0, TS).to_dict())
    assert core.receive_order(sample_order())
    check("state", core.state(1, TS).to_dict())
    step = core.next_step()
    check("state", core.state(2, TS, linear_mps=0.5, angular_radps=0.1).to_dict())
    core.arrived(step.node.nodeId)
    core.next_step()  # loadDocuments starts
    core.set_info("handover", "waiting for sender", {"compartmentId": "1"})
    core.loads.append(v.Load(loadId="D-1", loadType="documents", loadPosition="compartment1"))
    core.cancel_order(v.Action(actionType="cancelOrder", actionId="c1"))
    core.cancel_order(v.Action(actionType="cancelOrder", actionId="c2"))
    core.set_error("emergencyStop", "FATAL", "e-stop", True)
    data = core.state(3, v.utc_timestamp()).to_dict()
    check("state", data)
    assert [e["errorType"] for e in data["errors"]] == ["emergencyStop"]
    assert data["loads"] == [{"loadId": "D-1", "loadType": "documents", "loadPosition": "compartment1"}]
    statuses = {a["actionId"]: a["actionStatus"] for a in data["actionStates"]}
    assert statuses["a1"] == "INITIALIZING", "a running action is left for the adapter to abort"


@pytest.mark.parametrize("kind", ["delivery", "guidance"])
def test_factsheet_validates_and_declares_our_actions(kind: str) -> None:
    sheet = ha.build_factsheet("hall", f"{kind[0]}1", kind, compartments=3 if kind == "delivery" else 0)
    check("factsheet", sheet)
    declared = v.Factsheet.from_dict(sheet).action_types()
    assert declared == {spec.action_type for spec in ha.actions_for(kind)}
    assert set(ha.STANDARD_INSTANT) <= declared
    if kind == "delivery":
        assert {ha.LOAD_DOCUMENTS, ha.UNLOAD_DOCUMENTS, ha.UNLOCK_COMPARTMENT} <= declared
        assert sheet["loadSpecification"]["loadPositions"] == ["compartment1", "compartment2", "compartment3"]
    else:
        assert ha.SPEAK in declared and ha.LOAD_DOCUMENTS not in declared
    decoded = v.decode("factsheet", json.dumps(sheet))
    bad = json.loads(json.dumps(sheet))
    bad["protocolFeatures"]["agvActions"][0]["blockingTypes"] = ["MAYBE"]
    assert list(validator("factsheet").iter_errors(bad)), "the corrected schema still checks blocking types"
    assert isinstance(decoded, v.Factsheet) and decoded.to_dict() == sheet


def test_actions_for_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown robot kind 'forklift'"):
        ha.actions_for("forklift")


# ------------------------------------------------------------------ decode errors


def test_decode_malformed_json_names_the_topic() -> None:
    with pytest.raises(v.ProtocolError, match=r"^uagv/v2/hall/d1/order: not JSON"):
        v.decode("order", b"{nodes: [", "uagv/v2/hall/d1/order")
    with pytest.raises(v.ProtocolError, match=r"^state: not JSON"):
        v.decode("state", b"\xff\xfe\x00garbage")


def test_decode_missing_field_names_topic_and_field() -> None:
    data = sample_order().to_dict()
    del data["nodes"][1]["nodeId"]
    with pytest.raises(v.ProtocolError) as excinfo:
        v.decode("order", json.dumps(data), "uagv/v2/hall/d1/order")
    text = str(excinfo.value)
    assert text.startswith("uagv/v2/hall/d1/order: field nodes.1.nodeId")
    assert "required" in text.lower() or "missing" in text.lower()


def test_decode_wrong_type_names_the_field() -> None:
    data = sample_order().to_dict()
    data["orderUpdateId"] = "first"
    with pytest.raises(v.ProtocolError, match=r"order: field orderUpdateId"):
        v.decode("order", json.dumps(data))


def test_decode_bad_enum_names_the_field() -> None:
    state = VehicleCore("hall", "d1", set(), VehiclePosition(0.0, 0.0, 0.0, "F1")).state(0, TS).to_dict()
    state["operatingMode"] = "TURBO"
    with pytest.raises(v.ProtocolError, match=r"state: field operatingMode"):
        v.decode("state", json.dumps(state))


def test_decode_factsheet_without_serial_number_names_the_field() -> None:
    sheet = ha.build_factsheet("hall", "d1", "delivery")
    del sheet["serialNumber"]
    with pytest.raises(v.ProtocolError, match=r"^uagv/v2/hall/d1/factsheet: field serialNumber: missing"):
        v.decode("factsheet", json.dumps(sheet), "uagv/v2/hall/d1/factsheet")
    with pytest.raises(v.ProtocolError, match="factsheet must be a JSON object"):
        v.decode("factsheet", "[]")


def test_decode_unknown_kind_is_a_protocol_error() -> None:
    with pytest.raises(v.ProtocolError, match="unknown VDA 5050 topic kind 'telemetry'"):
        v.decode("telemetry", "{}")


def test_decode_ignores_unknown_vendor_fields() -> None:
    data = v.Connection(
        headerId=1, timestamp=TS, manufacturer="acme", serialNumber="x", connectionState=v.ConnectionState.ONLINE
    ).to_dict()
    data["vendorExtra"] = {"a": 1}
    decoded = v.decode("connection", json.dumps(data))
    assert decoded.connectionState == v.ConnectionState.ONLINE


# ------------------------------------------------------------------ topics, timestamps, header ids


def test_topic_and_parse_topic_round_trip() -> None:
    name = v.topic("hall", "d1", "state")
    assert name == "uagv/v2/hall/d1/state"
    assert v.parse_topic(name) == ("hall", "d1", "state")


@pytest.mark.parametrize(
    "name",
    [
        "uagv/v1/hall/d1/state",
        "uagv/v2/hall/d1/status",
        "uagv/v2/hall/state",
        "x/v2/hall/d1/state",
        "uagv/v2/hall/d1/state/extra",
    ],
)
def test_parse_topic_refuses_foreign_topics(name: str) -> None:
    with pytest.raises(v.ProtocolError, match="not a VDA 5050 v2 topic"):
        v.parse_topic(name)


def test_topic_refuses_unknown_kind() -> None:
    with pytest.raises(v.ProtocolError, match="'status'"):
        v.topic("hall", "d1", "status")


def test_utc_timestamp_is_iso8601_utc_with_milliseconds() -> None:
    shanghai = timezone(timedelta(hours=8))
    stamp = v.utc_timestamp(datetime(2024, 5, 1, 16, 30, 15, 123456, tzinfo=shanghai))
    assert stamp == "2024-05-01T08:30:15.123Z"
    now = v.utc_timestamp()
    assert now.endswith("Z") and len(now) == len("2024-05-01T08:30:15.123Z")
    assert datetime.fromisoformat(now.replace("Z", "+00:00")).tzinfo is not None


def test_header_ids_count_per_topic_from_zero() -> None:
    ids = v.HeaderIds()
    assert [ids.next("state"), ids.next("state"), ids.next("visualization"), ids.next("state")] == [0, 1, 0, 2]
