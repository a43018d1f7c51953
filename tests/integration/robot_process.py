"""Test fixtures for one real robot process: simulated firmware + ``hallfleet robot run``, and a
test-side VDA 5050 master (paho-mqtt 2) that records every message on the robot's topics.

Used by integration tests that need a whole robot talking to a real broker. Nothing here imports
rclpy, so a test module decides itself how and when to set up ROS 2.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from support import stop_process  # noqa: F401  (re-exported to the tests that import it from here)

from hallfleet.protocol import vda5050 as v

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = REPO_ROOT / "maps" / "demo_hall"
DELIVERY_CONFIG = REPO_ROOT / "robots" / "config" / "delivery.yaml"
MANUFACTURER = "HallFleet"

# A known limit, not a cure: the robot process runs its control loop on rclpy's Python executor, and
# on this 2-core machine odometry and commands sometimes arrive 0.2-0.6 s late (2-6 simulated
# seconds at time scale 10); now and then a drive does not settle within its timeout. Tests that
# drive a real robot process get two more tries; a behaviour that is wrong fails all three. See the
# stop note of 2026-11-29 and robots/nodes/qos.py.
ROBOT_DRIVE_RERUNS = pytest.mark.flaky(reruns=2, reruns_delay=2)


def broker_reachable(host: str = "127.0.0.1", port: int = 1883, timeout_s: float = 1.0) -> bool:
    """True when something accepts TCP connections at host:port (the local Mosquitto)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, poll_s: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)


def unique_robot_id(prefix: str = "it") -> str:
    """A fresh robot id per run (a Python identifier), so runs never see each other's topics."""
    return f"{prefix}{secrets.token_hex(4)}"


def write_fleet_file(folder: Path, robot_id: str, home: str = "dock-1", compartments: int = 4) -> Path:
    """A one-robot fleet file (delivery robot at ``home``) in ``folder``."""
    path = folder / "fleet.yaml"
    path.write_text(
        f"manufacturer: {MANUFACTURER}\n"
        "robots:\n"
        f"  - id: {robot_id}\n"
        "    kind: delivery\n"
        f"    home: {home}\n"
        f"    compartments: {compartments}\n"
        f"    config: {DELIVERY_CONFIG}\n",
        encoding="utf-8",
    )
    return path


@dataclass
class RobotProcess:
    """Firmware + robot subprocesses of one simulated delivery robot."""

    robot_id: str
    workdir: Path
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    time_scale: float = 10.0
    firmware: subprocess.Popen | None = None
    robot: subprocess.Popen | None = None
    _logs: list = field(default_factory=list)

    @property
    def link(self) -> Path:
        return self.workdir / "base"

    def start(self, link_timeout_s: float = 10.0) -> RobotProcess:
        fleet = write_fleet_file(self.workdir, self.robot_id)
        env = dict(os.environ)  # ROS_DOMAIN_ID / ROS_AUTOMATIC_DISCOVERY_RANGE from tests/conftest.py
        fw_log = open(self.workdir / "firmware.log", "wb")
        self._logs.append(fw_log)
        self.firmware = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "robots.sim.firmware",
                "--link",
                str(self.link),
                "--time-scale",
                str(self.time_scale),
                "--compartments",
                "4",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=fw_log,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: self.link.is_symlink() or self.firmware.poll() is not None, link_timeout_s, "the firmware pty link"
        )
        if self.firmware.poll() is not None:
            raise RuntimeError(f"firmware exited with {self.firmware.returncode}: {self.log('firmware')}")
        robot_log = open(self.workdir / "robot.log", "wb")
        self._logs.append(robot_log)
        self.robot = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hallfleet_apps.cli",
                "robot",
                "run",
                "--robot",
                self.robot_id,
                "--serial-url",
                str(self.link),
                "--mqtt-url",
                self.mqtt_url,
                "--time-scale",
                str(self.time_scale),
                "--data-dir",
                str(self.workdir / "data"),
                "--site",
                str(SITE_DIR),
                "--fleet",
                str(fleet),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=robot_log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill_robot(self) -> None:
        """SIGKILL the robot process (no goodbye on MQTT: the broker must send the last will)."""
        if self.robot is not None and self.robot.poll() is None:
            os.kill(self.robot.pid, signal.SIGKILL)
            self.robot.wait(timeout=10.0)

    def stop(self) -> None:
        try:
            stop_process(self.robot)
        finally:
            stop_process(self.firmware)
            for handle in self._logs:
                handle.close()

    def log(self, which: str = "robot") -> str:
        path = self.workdir / f"{which}.log"
        return path.read_text(encoding="utf-8", errors="replace")[-4000:] if path.exists() else ""


@dataclass(frozen=True)
class Captured:
    kind: str
    payload: dict[str, Any]
    retained: bool
    qos: int
    received_s: float


class VdaMaster:
    """A minimal VDA 5050 master: records everything on ``uagv/v2/<mfr>/<id>/#`` and sends orders."""

    def __init__(self, robot_id: str, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.robot_id = robot_id
        self.messages: dict[str, list[Captured]] = defaultdict(list)
        self._cond = threading.Condition()
        self._header_ids = v.HeaderIds()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"it-master-{robot_id}-{secrets.token_hex(3)}",
            protocol=mqtt.MQTTv311,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(timeout=10.0):
            raise AssertionError(f"test master: no SUBACK from the broker at {host}:{port}")

    def topic(self, kind: str) -> str:
        return v.topic(MANUFACTURER, self.robot_id, kind)

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if not reason_code.is_failure:
            client.subscribe(f"uagv/v2/{MANUFACTURER}/{self.robot_id}/#", qos=1)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        if not message.payload:
            return  # a cleared retained message
        kind = message.topic.rsplit("/", 1)[-1]
        captured = Captured(kind, json.loads(message.payload), bool(message.retain), message.qos, time.monotonic())
        with self._cond:
            self.messages[kind].append(captured)
            self._cond.notify_all()

    # ------------------------------------------------------------ reading
    def all(self, kind: str) -> list[Captured]:
        with self._cond:
            return list(self.messages.get(kind, ()))

    def latest(self, kind: str) -> dict[str, Any] | None:
        items = self.all(kind)
        return items[-1].payload if items else None

    def wait(
        self, kind: str, predicate: Callable[[dict[str, Any]], bool], timeout_s: float, what: str, after_s: float = 0.0
    ) -> dict[str, Any]:
        """First message of ``kind`` received after monotonic time ``after_s`` that satisfies predicate."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for item in self.messages.get(kind, ()):
                    if item.received_s >= after_s and predicate(item.payload):
                        return item.payload
                remaining_s = deadline - time.monotonic()
                if remaining_s <= 0:
                    last = self.messages[kind][-1].payload if self.messages.get(kind) else None
                    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last {kind}: {last}")
                self._cond.wait(timeout=min(remaining_s, 0.2))

    def wait_state(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float, what: str, after_s: float | None = None
    ) -> dict[str, Any]:
        """A state received from now on (or after ``after_s``) that satisfies predicate."""
        return self.wait("state", predicate, timeout_s, what, time.monotonic() if after_s is None else after_s)

    # ------------------------------------------------------------ sending
    def _header(self, kind: str) -> dict[str, Any]:
        return {
            "headerId": self._header_ids.next(kind),
            "timestamp": v.utc_timestamp(),
            "version": v.VERSION,
            "manufacturer": MANUFACTURER,
            "serialNumber": self.robot_id,
        }

    def send_order(self, order_id: str, nodes: list[dict], edges: list[dict], order_update_id: int = 0) -> dict:
        message = {
            **self._header("order"),
            "orderId": order_id,
            "orderUpdateId": order_update_id,
            "nodes": nodes,
            "edges": edges,
        }
        self.client.publish(self.topic("order"), json.dumps(message), qos=1).wait_for_publish(timeout=5.0)
        return message

    def send_instant(self, *actions: dict) -> dict:
        message = {**self._header("instantActions"), "actions": list(actions)}
        self.client.publish(self.topic("instantActions"), json.dumps(message), qos=1).wait_for_publish(timeout=5.0)
        return message

    def close(self, clear_retained: bool = True) -> None:
        """Disconnect; by default also clear the robot's retained connection/factsheet from the broker."""
        if clear_retained:
            for kind in ("connection", "factsheet"):
                self.client.publish(self.topic(kind), b"", qos=1, retain=True).wait_for_publish(timeout=5.0)
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def running_robot(
    workdir: Path, prefix: str = "it", start_timeout_s: float = 30.0
) -> Iterator[tuple[RobotProcess, VdaMaster]]:
    """(process, master) of a fresh delivery robot at dock-1, ONLINE and publishing state.

    The robot's log is appended to a start-up failure; both processes are stopped and the master's
    retained messages cleared on exit, also on failure.
    """
    robot_id = unique_robot_id(prefix)
    master = VdaMaster(robot_id)
    process = RobotProcess(robot_id, workdir)
    try:
        process.start()
        try:
            master.wait("connection", lambda m: m["connectionState"] == "ONLINE", start_timeout_s, "connection ONLINE")
            master.wait("state", lambda s: s.get("agvPosition") is not None, start_timeout_s, "a first state")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- robot log ---\n{process.log()}") from None
        yield process, master
    finally:
        process.stop()
        master.close()


# ---------------------------------------------------------------- order building
def action(action_type: str, action_id: str | None = None, blocking: str = "HARD", **params: Any) -> dict:
    return {
        "actionType": action_type,
        "actionId": action_id or f"{action_type}-{secrets.token_hex(3)}",
        "blockingType": blocking,
        "actionParameters": [{"key": k, "value": val} for k, val in params.items()],
    }


def order_graph(
    site,
    waypoint_ids: list[str],
    released_count: int | None = None,
    first_sequence_id: int = 0,
    node_actions: dict[str, list[dict]] | None = None,
) -> tuple[list[dict], list[dict]]:
    """VDA 5050 nodes (even sequenceIds) and edges (odd) along waypoints; the first ``released_count``
    nodes (and the edges between them) are the base, the rest the horizon."""
    released_count = len(waypoint_ids) if released_count is None else released_count
    nodes, edges = [], []
    for index, waypoint_id in enumerate(waypoint_ids):
        wp = site.waypoint(waypoint_id)
        nodes.append(
            {
                "nodeId": wp.id,
                "sequenceId": first_sequence_id + 2 * index,
                "released": index < released_count,
                "nodePosition": {"x": wp.x_m, "y": wp.y_m, "mapId": site.map_id(wp.level), "allowedDeviationXY": 0.3},
                "actions": (node_actions or {}).get(wp.id, []),
            }
        )
        if index:
            prev = waypoint_ids[index - 1]
            edges.append(
                {
                    "edgeId": f"{prev}--{wp.id}",
                    "sequenceId": first_sequence_id + 2 * index - 1,
                    "released": index < released_count,
                    "startNodeId": prev,
                    "endNodeId": wp.id,
                    "actions": [],
                }
            )
    return nodes, edges
