"""Emergency stop on one real robot process (firmware + ROS 2 nodes) over the local Mosquitto:
the robot reports FATAL, refuses to move even with an order, and completes the order after reset."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

if os.environ.get("ROS_DOMAIN_ID", "0") in ("", "0"):
    os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 200))

import pytest  # noqa: E402
from robot_process import (  # noqa: E402
    ROBOT_DRIVE_RERUNS,
    SITE_DIR,
    action,
    broker_reachable,
    order_graph,
    running_robot,
)

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
GOAL_WAYPOINT = "wp-L1-spine-5"


@pytest.fixture
def robot(tmp_path: Path):
    with running_robot(tmp_path, "es", start_timeout_s=START_TIMEOUT_S) as started:
        yield started


def fatal_estop(state: dict) -> bool:
    return any(e["errorType"] == "emergencyStop" and e["errorLevel"] == "FATAL" for e in state.get("errors", []))


def action_status(state: dict, action_id: str) -> str | None:
    return next((a["actionStatus"] for a in state.get("actionStates", []) if a["actionId"] == action_id), None)


def test_remote_estop_holds_the_robot_until_reset_then_it_completes_the_order(robot) -> None:
    process, master = robot
    site = load_site(SITE_DIR)
    master.send_instant(action("emergencyStop", "estop-1", blocking="NONE", person="Tech Zhao"))
    stopped = master.wait_state(
        lambda s: fatal_estop(s) and action_status(s, "estop-1") == "FINISHED", 10.0, "FATAL emergencyStop"
    )
    assert stopped["safetyState"]["eStop"] == "REMOTE" and stopped["driving"] is False
    start = stopped["agvPosition"]

    route = plan_route(site, HOME_WAYPOINT, GOAL_WAYPOINT).waypoint_ids
    master.send_order("es-drive", *order_graph(site, route))
    master.send_instant(action("stopPause", "unpause-1", blocking="NONE"))
    held = master.wait_state(
        lambda s: s["orderId"] == "es-drive" and action_status(s, "unpause-1") == "FINISHED",
        10.0,
        "order accepted while stopped",
    )
    # for a while (several states) it neither drives nor moves, and stays FATAL
    later = master.wait_state(lambda s: s["headerId"] >= held["headerId"] + 4, 15.0, "four more states")
    for state in (held, later):
        assert fatal_estop(state) and state["driving"] is False and state["lastNodeId"] == HOME_WAYPOINT
        assert abs(state["agvPosition"]["x"] - start["x"]) < 0.05 and abs(state["agvPosition"]["y"] - start["y"]) < 0.05

    master.send_instant(action("resetEmergencyStop", "reset-1", blocking="NONE", person="Tech Zhao"))
    reset = master.wait_state(lambda s: action_status(s, "reset-1") in ("FINISHED", "FAILED"), 10.0, "reset answered")
    assert action_status(reset, "reset-1") == "FINISHED", f"reset failed:\n{process.log()}"
    assert not fatal_estop(reset) and reset["safetyState"]["eStop"] == "NONE"
    master.wait_state(
        lambda s: s["orderId"] == "es-drive" and s["lastNodeId"] == GOAL_WAYPOINT and not s["driving"],
        DRIVE_TIMEOUT_S,
        f"arrival at {GOAL_WAYPOINT} after the reset",
    )


def test_robot_button_is_reported_as_manual_and_needs_the_reset(robot) -> None:
    process, master = robot
    pressed_s = time.monotonic()
    process.firmware.send_signal(signal.SIGUSR2)
    stopped = master.wait_state(fatal_estop, 10.0, "FATAL emergencyStop from the button", after_s=pressed_s)
    assert stopped["safetyState"]["eStop"] == "MANUAL"
    master.send_instant(action("resetEmergencyStop", "reset-b", blocking="NONE", person="Tech Zhao"))
    reset = master.wait_state(lambda s: action_status(s, "reset-b") == "FINISHED", 10.0, "reset FINISHED")
    assert not fatal_estop(reset) and reset["safetyState"]["eStop"] == "NONE"


def test_start_charging_charges_until_stop_charging(robot) -> None:
    _process, master = robot
    master.send_instant(action("startCharging", "charge-1", blocking="NONE"))
    charging = master.wait_state(lambda s: action_status(s, "charge-1") == "FINISHED", 10.0, "startCharging FINISHED")
    assert charging["batteryState"]["charging"] is True
    level = charging["batteryState"]["batteryCharge"]
    if level < 100.0:
        master.wait_state(lambda s: s["batteryState"]["batteryCharge"] > level, 15.0, "battery charge rising")
    master.send_instant(action("stopCharging", "charge-2", blocking="NONE"))
    stopped = master.wait_state(lambda s: action_status(s, "charge-2") == "FINISHED", 10.0, "stopCharging FINISHED")
    assert stopped["batteryState"]["charging"] is False
