"""`hallfleet launch` runs a robot's launch file on a pip-only install and stops it on Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import rclpy
from geometry_msgs.msg import PoseStamped
from hall_interfaces.msg import CompartmentState
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import BatteryState
from support import processes_mentioning, stop_process

import hallfleet.ros_env  # noqa: F401  (loopback DDS before rclpy)

REPO = Path(__file__).resolve().parents[2]


def test_launched_delivery_robot_publishes_its_topics_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    robot_id = "lr" + secrets.token_hex(4)
    launch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hallfleet_apps.cli",
            "launch",
            str(REPO / "launch/delivery_robot.launch.yaml"),
            f"robot_id:={robot_id}",
            f"serial_url:={tmp_path / 'base.tty'}",
            "time_scale:=5.0",
            "mqtt_url:=mqtt://127.0.0.1:1",
            "--log-dir",
            str(tmp_path / "logs"),
        ],  # no broker needed to drive ROS
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ.copy(),
        cwd=REPO,
    )
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("launch_observer", context=context)
    seen: dict[str, object] = {}
    node.create_subscription(PoseStamped, f"/{robot_id}/pose", lambda m: seen.setdefault("pose", m), 10)
    node.create_subscription(BatteryState, f"/{robot_id}/battery_state", lambda m: seen.setdefault("battery", m), 10)
    node.create_subscription(
        CompartmentState, f"/{robot_id}/compartments", lambda m: seen.setdefault("compartment", m), 10
    )
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + 60
        while len(seen) < 3 and time.monotonic() < deadline and launch.poll() is None:
            time.sleep(0.2)
        assert set(seen) == {"pose", "battery", "compartment"}, f"only {sorted(seen)}; launch says: {launch.poll()}"
        assert seen["pose"].header.frame_id == "map"
        assert abs(seen["pose"].pose.position.x - 1.0) < 0.5 and abs(seen["pose"].pose.position.y - 5.0) < 0.5  # dock-1
        ours = lambda: set(processes_mentioning(robot_id)) | set(processes_mentioning(str(tmp_path)))  # noqa: E731
        assert len(ours()) >= 6  # the launcher, the firmware and four nodes

        launch.send_signal(signal.SIGINT)
        assert launch.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while ours() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ours() == set()
    finally:
        stop_process(launch)  # after a failed assertion: it stops its children, then it is reaped
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
