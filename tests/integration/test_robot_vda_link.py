"""One real robot process speaking VDA 5050 over the local Mosquitto, watched by a test master
(paho-mqtt) and an independent ROS 2 client.

Each test gets its own firmware + robot processes (a fresh robot id at dock-1), so no test depends
on another's order or on where an earlier test left the robot.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

if os.environ.get("ROS_DOMAIN_ID", "0") in ("", "0"):
    os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 200))

import jsonschema  # noqa: E402
import pytest  # noqa: E402
from robot_process import (  # noqa: E402
    ROBOT_DRIVE_RERUNS,
    SITE_DIR,
    VdaMaster,
    action,
    broker_reachable,
    order_graph,
    running_robot,
    wait_for,
)
from vda_schemas import KINDS  # noqa: E402
from vda_schemas import validator as schema_validator

import hallfleet.ros_env  # noqa: E402,F401  (before rclpy)
from hallfleet.protocol.pins import hash_pin  # noqa: E402
from maps.planner import plan_route  # noqa: E402
from maps.site import load_site  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not broker_reachable(), reason="no MQTT broker (Mosquitto) on 127.0.0.1:1883"),
    ROBOT_DRIVE_RERUNS,
]

START_TIMEOUT_S = 30.0
DRIVE_TIMEOUT_S = 40.0
HOME_WAYPOINT = "wp-L1-dock-1"
GOAL_WAYPOINT = "wp-L1-win-C01"  # nine lanes from the dock: spine, corridor, window aisle


@pytest.fixture(scope="module")
def site():
    return load_site(SITE_DIR)


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.protocols.Validator]:
    return {kind: schema_validator(kind) for kind in KINDS}


@pytest.fixture
def robot(tmp_path: Path):
    """(process, master) of a fresh delivery robot at dock-1, ONLINE and publishing state."""
    with running_robot(tmp_path, start_timeout_s=START_TIMEOUT_S) as started:
        yield started


def assert_schema_valid(master: VdaMaster, validators, kinds=None) -> int:
    """Every captured message of each kind validates against the official VDA 5050 schema."""
    checked = 0
    for kind, validator in validators.items():
        if kinds is not None and kind not in kinds:
            continue
        for item in master.all(kind):
            errors = sorted(validator.iter_errors(item.payload), key=lambda e: list(e.path))
            assert not errors, f"{kind} #{item.payload.get('headerId')} breaks the schema: " + "; ".join(
                f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
            )
            checked += 1
    return checked


def action_state(state: dict, action_id: str) -> dict | None:
    return next((a for a in state.get("actionStates", []) if a["actionId"] == action_id), None)


def has_error(state: dict, error_type: str) -> bool:
    return any(e["errorType"] == error_type for e in state.get("errors", []))


# --------------------------------------------------------------------------- 1
def test_start_announces_online_factsheet_and_state_all_schema_valid(robot, site, validators) -> None:
    process, master = robot
    online = master.wait("connection", lambda m: m["connectionState"] == "ONLINE", 5.0, "connection ONLINE")
    assert online["serialNumber"] == process.robot_id and online["manufacturer"] == "HallFleet"
    # retained + QoS 1: a master connecting later still learns the vehicle is online
    late = VdaMaster(process.robot_id)
    try:
        retained = late.wait("connection", lambda m: True, 5.0, "retained connection for a late master")
        assert retained["connectionState"] == "ONLINE"
        captured = late.all("connection")[0]
        assert captured.retained and captured.qos == 1
    finally:
        late.close(clear_retained=False)

    factsheet = master.wait("factsheet", lambda m: True, 5.0, "factsheet")
    declared = {a["actionType"] for a in factsheet["protocolFeatures"]["agvActions"]}
    assert {"loadDocuments", "unloadDocuments", "unlockCompartment", "lockCompartment"} <= declared

    dock = site.place("dock-1").pose
    first = master.wait("state", lambda s: True, 5.0, "state")
    master.wait("state", lambda s: s["headerId"] > first["headerId"] + 1, 5.0, "two more periodic states")
    state = master.latest("state")
    pos = state["agvPosition"]
    assert pos["mapId"] == "floor1"
    assert abs(pos["x"] - dock.x_m) < 0.3 and abs(pos["y"] - dock.y_m) < 0.3, pos
    assert state["lastNodeId"] == HOME_WAYPOINT and state["driving"] is False
    master.wait("visualization", lambda m: True, 5.0, "visualization")

    # what the test sends travels through the broker too and is checked the same way
    master.send_instant(action("stateRequest", blocking="NONE"))
    master.send_order("it-noop", *order_graph(site, [HOME_WAYPOINT]))
    master.wait("instantActions", lambda m: True, 5.0, "our instantActions echoed by the broker")
    master.wait("order", lambda m: True, 5.0, "our order echoed by the broker")
    master.wait_state(lambda s: s["orderId"] == "it-noop", 5.0, "the one-node order accepted")
    assert assert_schema_valid(master, validators) >= 8
    for kind in ("connection", "factsheet", "state", "visualization", "order", "instantActions"):
        assert master.all(kind), f"no {kind} message captured"


# --------------------------------------------------------------------------- 2
class RosListener:
    """A plain rclpy client in the test process, in its own context, spinning in a thread."""

    def __init__(self, robot_id: str) -> None:
        import rclpy
        from geometry_msgs.msg import PoseStamped
        from nav_msgs.msg import Odometry
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import BatteryState

        self._rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.received: dict[str, list] = {"pose": [], "odom": [], "battery": []}
        self._lock = threading.Lock()
        self.node = rclpy.create_node("it_listener", namespace=robot_id, context=self.context)
        from rclpy.qos import qos_profile_sensor_data

        # best effort, as a monitoring client should: a reliable reader that falls behind holds
        # back the robot's own publishers (measured: 0.2-0.6 s odometry stalls inside the robot)
        self.node.create_subscription(PoseStamped, "pose", lambda m: self._keep("pose", m), qos_profile_sensor_data)
        self.node.create_subscription(Odometry, "odom", lambda m: self._keep("odom", m), qos_profile_sensor_data)
        self.node.create_subscription(BatteryState, "battery_state", lambda m: self._keep("battery", m), 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _keep(self, topic: str, msg) -> None:
        with self._lock:
            self.received[topic].append(msg)

    def get(self, topic: str) -> list:
        with self._lock:
            return list(self.received[topic])

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)
        self.thread.join(timeout=5.0)


def test_order_is_driven_to_its_last_node_and_ros_topics_show_motion(robot, site, validators) -> None:
    process, master = robot
    listener = RosListener(process.robot_id)
    try:
        wait_for(
            lambda: listener.get("pose") and listener.get("odom") and listener.get("battery"),
            20.0,
            f"pose, odom and battery_state on /{process.robot_id}",
        )
        # five nodes down the spine, not all nine to the window: see ROBOT_DRIVE_RERUNS for why
        route = plan_route(site, HOME_WAYPOINT, GOAL_WAYPOINT).waypoint_ids[:5]
        goal_waypoint = route[-1]
        assert len(route) == 5
        nodes, edges = order_graph(site, route)
        assert all(n["sequenceId"] % 2 == 0 and n["released"] and n["nodePosition"]["mapId"] == "floor1" for n in nodes)
        assert all(e["sequenceId"] % 2 == 1 for e in edges)
        start_pose = listener.get("pose")[-1].pose.position
        master.send_order("it-drive", nodes, edges)
        master.wait_state(
            lambda s: s["orderId"] == "it-drive" and s["driving"] and s["velocity"]["vx"] > 0.1,
            10.0,
            "driving on it-drive with a forward velocity in state",
        )
        done = master.wait_state(
            lambda s: s["orderId"] == "it-drive" and s["lastNodeId"] == goal_waypoint and not s["driving"],
            DRIVE_TIMEOUT_S,
            f"arrival at {goal_waypoint}",
        )
        assert done["lastNodeSequenceId"] == nodes[-1]["sequenceId"]
        assert done["nodeStates"] == [] and done["edgeStates"] == []
        goal = site.waypoint(goal_waypoint)
        assert abs(done["agvPosition"]["x"] - goal.x_m) < 0.5 and abs(done["agvPosition"]["y"] - goal.y_m) < 0.5

        # the independent ROS 2 view agrees: the robot moved from the dock toward the goal
        wait_for(lambda: abs(listener.get("pose")[-1].pose.position.y - goal.y_m) < 0.5, 5.0, "pose at the goal")
        poses = listener.get("pose")
        assert all(p.header.frame_id == "map" for p in poses)
        end_pose = poses[-1].pose.position
        start_distance = ((start_pose.x - goal.x_m) ** 2 + (start_pose.y - goal.y_m) ** 2) ** 0.5
        end_distance = ((end_pose.x - goal.x_m) ** 2 + (end_pose.y - goal.y_m) ** 2) ** 0.5
        assert start_distance > 10.0 and end_distance < 0.5
        assert any(abs(o.twist.twist.linear.x) > 0.1 for o in listener.get("odom")), "odom never showed motion"
        battery = listener.get("battery")[-1]
        assert 0.0 < battery.percentage <= 1.0
    finally:
        listener.close()
    assert_schema_valid(master, validators)


# --------------------------------------------------------------------------- 3
def test_base_and_horizon_stop_then_update_releases_the_rest(robot, site, validators) -> None:
    process, master = robot
    route = plan_route(site, HOME_WAYPOINT, "wp-L1-lobby-E2-L1").waypoint_ids  # dock, spine x4, lobby
    assert len(route) >= 5
    base_end = route[2]
    nodes, edges = order_graph(site, route, released_count=3)
    master.send_order("it-horizon", nodes, edges)
    at_base = master.wait_state(
        lambda s: s["orderId"] == "it-horizon" and s["lastNodeId"] == base_end and not s["driving"],
        DRIVE_TIMEOUT_S,
        f"stop at the end of the base {base_end}",
    )
    horizon = [n for n in at_base["nodeStates"]]
    assert [n["nodeId"] for n in horizon] == route[3:]
    assert all(n["released"] is False for n in horizon)
    assert all(e["released"] is False for e in at_base["edgeStates"])
    # it stays there: the next states still show it parked at the base end
    stopped = master.wait_state(lambda s: s["headerId"] >= at_base["headerId"] + 2, 10.0, "two more states")
    assert stopped["lastNodeId"] == base_end and stopped["driving"] is False

    # an update that does not start at the end of the base is refused
    wrong_nodes, wrong_edges = order_graph(site, route, first_sequence_id=0)
    master.send_order("it-horizon", wrong_nodes, wrong_edges, order_update_id=1)
    refused = master.wait_state(lambda s: has_error(s, "orderUpdateError"), 10.0, "orderUpdateError")
    assert refused["lastNodeId"] == base_end and refused["orderUpdateId"] == 0

    # the proper update starts at the base end (same sequenceId) and releases the rest
    update_nodes, update_edges = order_graph(site, route[2:], first_sequence_id=4)
    master.send_order("it-horizon", update_nodes, update_edges, order_update_id=1)
    done = master.wait_state(
        lambda s: s["orderUpdateId"] == 1 and s["lastNodeId"] == route[-1] and not s["driving"],
        DRIVE_TIMEOUT_S,
        f"arrival at {route[-1]} after the update",
    )
    assert done["nodeStates"] == [] and not has_error(done, "orderUpdateError")
    assert done["lastNodeSequenceId"] == 2 * (len(route) - 1)
    assert_schema_valid(master, validators)


# --------------------------------------------------------------------------- 4
def test_load_documents_with_pin_handover(robot, site, validators) -> None:
    process, master = robot
    load = action("loadDocuments", "load-1", deliveryId="DLV-it-1", compartmentId=1, pinHash=hash_pin("123456"))
    nodes, edges = order_graph(site, [HOME_WAYPOINT], node_actions={HOME_WAYPOINT: [load]})
    master.send_order("it-load", nodes, edges)
    master.wait_state(
        lambda s: (action_state(s, "load-1") or {}).get("actionStatus") == "RUNNING",
        15.0,
        "loadDocuments RUNNING at the dock",
    )

    master.send_instant(
        action("unlockCompartment", "unlock-bad", blocking="NONE", compartmentId=1, pin="000000", person="clerk")
    )
    bad = master.wait_state(
        lambda s: (action_state(s, "unlock-bad") or {}).get("actionStatus") == "FAILED", 15.0, "wrong PIN refused"
    )
    assert "pin" in action_state(bad, "unlock-bad").get("resultDescription", "").lower()
    assert action_state(bad, "load-1")["actionStatus"] == "RUNNING"

    master.send_instant(
        action("unlockCompartment", "unlock-ok", blocking="NONE", compartmentId=1, pin="123456", person="clerk")
    )
    master.wait_state(
        lambda s: (action_state(s, "unlock-ok") or {}).get("actionStatus") == "FINISHED", 15.0, "right PIN opens"
    )

    master.send_instant(
        action("lockCompartment", "lock-1", blocking="NONE", compartmentId=1, occupied=True, person="clerk")
    )
    # the lock's answer and the load's end come from different nodes: either may be reported first
    loaded = master.wait_state(
        lambda s: all((action_state(s, a) or {}).get("actionStatus") == "FINISHED" for a in ("load-1", "lock-1")),
        15.0,
        "loadDocuments and lockCompartment FINISHED",
    )
    assert {"loadId": "DLV-it-1", "loadType": "documents", "loadPosition": "compartment1"} in loaded["loads"]
    assert_schema_valid(master, validators)


# --------------------------------------------------------------------------- 5
def test_cancel_without_order_and_state_request(robot, validators) -> None:
    process, master = robot
    master.send_instant(action("cancelOrder", "cancel-1", blocking="NONE"))
    refused = master.wait_state(lambda s: has_error(s, "noOrderToCancel"), 10.0, "noOrderToCancel")
    assert action_state(refused, "cancel-1")["actionStatus"] == "FAILED"

    before = master.latest("state")["headerId"]
    master.send_instant(action("stateRequest", "req-1", blocking="NONE"))
    answered = master.wait_state(lambda s: action_state(s, "req-1") is not None, 5.0, "state answering stateRequest")
    assert answered["headerId"] > before
    assert action_state(answered, "req-1")["actionStatus"] == "FINISHED"

    first_sheet = master.wait("factsheet", lambda m: True, 5.0, "factsheet")
    asked_s = time.monotonic()
    master.send_instant(action("factsheetRequest", "sheet-1", blocking="NONE"))
    resent = master.wait("factsheet", lambda m: True, 5.0, "factsheet answering factsheetRequest", after_s=asked_s)
    assert resent["headerId"] > first_sheet["headerId"], "every factsheet sent needs the next headerId"
    assert_schema_valid(master, validators)


# --------------------------------------------------------------------------- 6
def test_killed_robot_gets_connectionbroken_last_will(robot, validators) -> None:
    process, master = robot
    killed_s = time.monotonic()
    process.kill_robot()
    will = master.wait(
        "connection",
        lambda m: m["connectionState"] == "CONNECTIONBROKEN",
        30.0,
        "last will CONNECTIONBROKEN",
        after_s=killed_s,
    )
    assert will["serialNumber"] == process.robot_id
    broken = [c for c in master.all("connection") if c.payload["connectionState"] == "CONNECTIONBROKEN"][-1]
    assert broken.qos == 1
    assert not any(c.payload["connectionState"] == "OFFLINE" for c in master.all("connection")), (
        "a killed robot cannot say goodbye"
    )
    assert_schema_valid(master, validators, kinds={"connection"})


# --------------------------------------------------------------------------- 7
def test_malformed_work_is_refused_and_the_robot_stays_up(robot, site, validators) -> None:
    process, master = robot
    master.send_instant(action("unlockCompartment", "unlock-typo", blocking="NONE", compartmentId="one", pin="123456"))
    failed = master.wait_state(
        lambda s: (action_state(s, "unlock-typo") or {}).get("actionStatus") == "FAILED",
        10.0,
        "unlockCompartment with a bad compartmentId FAILED",
    )
    assert "compartmentId" in action_state(failed, "unlock-typo")["resultDescription"]

    nodes, edges = order_graph(site, [HOME_WAYPOINT, "wp-L1-spine-5"])
    del nodes[1]["nodePosition"]
    master.send_order("it-nopos", nodes, edges)
    refused = master.wait_state(
        lambda s: has_error(s, "validationError"), 10.0, "validationError for a node without position"
    )
    assert refused["orderId"] == "" and refused["lastNodeId"] == HOME_WAYPOINT and refused["driving"] is False

    later = master.wait_state(lambda s: s["headerId"] > refused["headerId"] + 1, 10.0, "states keep coming")
    assert later["errors"] and process.robot.poll() is None, f"robot died:\n{process.log()}"
    assert_schema_valid(master, validators)
