"""The VDA 5050 link survives what real networks do: a broker that dies mid-order and comes back.

Each test runs its own Mosquitto on a free loopback port (so it can be killed and restarted without
touching the machine's broker), one real robot process and a test-side master.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

if os.environ.get("ROS_DOMAIN_ID", "0") in ("", "0"):
    os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 200))

import pytest  # noqa: E402
from fleet_process import fleet_manager, get_json, post_json, start_other_make, write_other_make_fleet  # noqa: E402
from robot_process import (  # noqa: E402
    ROBOT_DRIVE_RERUNS,
    SITE_DIR,
    RobotProcess,
    VdaMaster,
    order_graph,
    unique_robot_id,
    wait_for,
)
from support import free_port, stop_process  # noqa: E402

import hallfleet.ros_env  # noqa: E402,F401  (before rclpy)
from maps.planner import plan_route  # noqa: E402
from maps.site import load_site  # noqa: E402

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto is not installed (make test installs it)"),
    ROBOT_DRIVE_RERUNS,
]

START_TIMEOUT_S = 30.0
HOME_WAYPOINT = "wp-L1-dock-1"
GOAL_WAYPOINT = "wp-L1-win-C01"


class PrivateBroker:
    """A Mosquitto of this test's own, on a fixed port so clients can reconnect after a restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8"
        )
        self.log_path = workdir / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: _accepts(self.port) or self.proc.poll() is not None, 10.0, "the private Mosquitto")
        assert self.proc.poll() is None, self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc, timeout_s=10.0)


def _accepts(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def link(tmp_path: Path) -> Iterator[tuple[PrivateBroker, RobotProcess, VdaMaster]]:
    broker = PrivateBroker(tmp_path)
    broker.start()
    robot_id = unique_robot_id("ls")
    master = VdaMaster(robot_id, port=broker.port)
    master.client.reconnect_delay_set(min_delay=1, max_delay=2)
    process = RobotProcess(robot_id, tmp_path, mqtt_url=broker.url)
    try:
        process.start()
        try:
            master.wait("connection", lambda m: m["connectionState"] == "ONLINE", START_TIMEOUT_S, "connection ONLINE")
            master.wait("state", lambda s: s.get("agvPosition") is not None, START_TIMEOUT_S, "a first state")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- robot log ---\n{process.log()}") from None
        yield broker, process, master
    finally:
        process.stop()
        master.close(clear_retained=False)
        broker.stop()


def test_robot_finishes_its_base_while_the_broker_is_down_and_reports_it_after_the_restart(link) -> None:
    broker, process, master = link
    site = load_site(SITE_DIR)
    route = plan_route(site, HOME_WAYPOINT, GOAL_WAYPOINT).waypoint_ids
    base_end = route[3]
    nodes, edges = order_graph(site, route, released_count=4)  # base: 4 nodes; the rest is horizon
    master.send_order("ls-drive", nodes, edges)
    before = master.wait_state(lambda s: s["orderId"] == "ls-drive" and s["driving"], 10.0, "driving on ls-drive")

    broker.stop()  # mid-drive: the robot hears nothing more and can report nothing
    time.sleep(5.0)  # 50 s of simulated time without a broker
    broker.start()

    master.wait(
        "connection",
        lambda m: m["connectionState"] == "ONLINE",
        20.0,
        "the robot's ONLINE connection again after the restart",
        after_s=time.monotonic() - 1.0,
    )
    after_s = time.monotonic()
    master.send_instant({"actionType": "stateRequest", "actionId": "ls-sr", "blockingType": "NONE"})
    # the answer to the stateRequest (states queued while the broker was away may arrive first)
    first = master.wait_state(
        lambda s: any(a["actionId"] == "ls-sr" for a in s["actionStates"]),
        20.0,
        "the robot's answer to the stateRequest",
        after_s=after_s,
    )
    assert route.index(first["lastNodeId"]) > route.index(before["lastNodeId"]), "it drove on while offline"
    state = master.wait_state(
        lambda s: s["orderId"] == "ls-drive" and not s["driving"],
        40.0,
        "the robot waiting at the end of its base",
        after_s=after_s,
    )
    assert state["lastNodeId"] == base_end, f"it should wait at the end of its base:\n{process.log()}"
    assert [n["nodeId"] for n in state["nodeStates"]] == route[4:], "the horizon is still there, unreleased"
    assert not any(n["released"] for n in state["nodeStates"])

    # the fleet, back in touch, releases the rest: the robot drives on to the goal
    update_nodes, update_edges = order_graph(site, route[3:], first_sequence_id=6)
    master.send_order("ls-drive", update_nodes, update_edges, order_update_id=1)
    done = master.wait_state(
        lambda s: s["orderId"] == "ls-drive" and s["lastNodeId"] == GOAL_WAYPOINT and not s["driving"],
        40.0,
        f"arrival at {GOAL_WAYPOINT}",
    )
    assert done["orderUpdateId"] == 1 and done["nodeStates"] == []
    assert process.robot.poll() is None


def test_robot_reconnects_after_repeated_broker_restarts(link) -> None:
    broker, process, master = link
    for attempt in range(2):
        broker.stop()
        broker.start()
        master.wait(
            "connection",
            lambda m: m["connectionState"] == "ONLINE",
            20.0,
            f"ONLINE after restart {attempt + 1}",
            after_s=time.monotonic() - 1.0,
        )
        master.wait_state(lambda s: s.get("agvPosition") is not None, 20.0, f"states after restart {attempt + 1}")
    assert process.robot.poll() is None, process.log()


def test_fleet_manager_and_vehicle_both_come_back_after_a_broker_restart(tmp_path: Path) -> None:
    broker = PrivateBroker(tmp_path)
    broker.start()
    serial = unique_robot_id("om")
    fleet_file = write_other_make_fleet(tmp_path / "fleet.yaml", serial)
    vehicle = None
    try:
        with fleet_manager(tmp_path, fleet_file, broker.url) as base:
            vehicle = start_other_make(serial, port=broker.port)
            vehicle.client.reconnect_delay_set(min_delay=1, max_delay=2)

            def online() -> bool:
                return any(r["id"] == serial and r["online"] for r in get_json(f"{base}/api/robots"))

            wait_for(online, 20.0, f"{serial} online in the fleet")
            requests_before = sum(a["actionType"] == "stateRequest" for a in vehicle.instant_actions_received)

            broker.stop()
            broker.start()  # retained messages are gone with it: both sides must announce themselves again
            wait_for(
                lambda: (
                    sum(a["actionType"] == "stateRequest" for a in vehicle.instant_actions_received) > requests_before
                ),
                30.0,
                "the fleet's stateRequest after it reconnected",
            )
            wait_for(online, 20.0, f"{serial} online again in the fleet")

            delivery = post_json(
                f"{base}/api/deliveries",
                {
                    "sender": {"place_id": "win-A01", "person": "王敏"},
                    "recipient": {"place_id": "win-C01", "person": "李强"},
                    "documents": [{"barcode": "SH-LS-1", "title": "社保转移申请"}],
                },
            )["delivery"]
            wait_for(
                lambda: get_json(f"{base}/api/deliveries/{delivery['id']}")["state"] == "delivered",
                30.0,
                "a transfer carried out after the restart",
            )
    finally:
        if vehicle is not None:
            vehicle.close()
        broker.stop()
