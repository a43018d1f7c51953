"""BaseDriverNode on a real ROS 2 graph, driving the simulated firmware over a pty."""

from __future__ import annotations

import os
import random

if os.environ.get("ROS_DOMAIN_ID", "0") in ("", "0"):
    os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 200))

import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import rclpy  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from geometry_msgs.msg import Twist  # noqa: E402
from hall_interfaces.msg import LockStates  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from robot_process import REPO_ROOT, stop_process, wait_for  # noqa: E402
from sensor_msgs.msg import BatteryState  # noqa: E402

import hallfleet.ros_env  # noqa: E402,F401  (before rclpy)
from robots.nodes.base_driver import BaseDriverNode  # noqa: E402

pytestmark = pytest.mark.integration


def test_node_publishes_odom_and_battery_and_follows_cmd_vel(tmp_path: Path) -> None:
    link = tmp_path / "base"
    firmware = subprocess.Popen(
        [sys.executable, "-m", "robots.sim.firmware", "--link", str(link), "--time-scale", "10", "--battery", "0.9"],
        cwd=REPO_ROOT,
    )
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    received: dict[str, object] = {}
    driver = listener = None
    try:
        driver = BaseDriverNode(serial_url=str(link), namespace="robot_t", context=context)
        listener = rclpy.create_node("listener", namespace="robot_t", context=context)
        listener.create_subscription(Odometry, "odom", lambda m: received.__setitem__("odom", m), 10)
        listener.create_subscription(BatteryState, "battery_state", lambda m: received.__setitem__("battery", m), 10)
        listener.create_subscription(LockStates, "lock_states", lambda m: received.__setitem__("locks", m), 10)

        def on_diagnostics(array: DiagnosticArray) -> None:
            for status in array.status:
                if status.name.startswith("/robot_t/base_driver"):
                    received["diagnostics"] = status

        listener.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
        cmd_pub = listener.create_publisher(Twist, "cmd_vel", 10)
        executor.add_node(driver)
        executor.add_node(listener)
        spinner.start()

        wait_for(lambda: "odom" in received and "battery" in received, 15.0, "odom and battery")
        odom = received["odom"]
        assert odom.header.frame_id == "odom" and odom.child_frame_id == "base_link"
        battery = received["battery"]
        assert battery.percentage == pytest.approx(0.9, abs=0.01)
        assert battery.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
        wait_for(lambda: "locks" in received, 5.0, "lock_states")
        assert list(received["locks"].locked) == [True] * 4

        start_x = received["odom"].pose.pose.position.x
        twist = Twist()
        twist.linear.x = 0.5

        def moved() -> bool:
            cmd_pub.publish(twist)
            return received["odom"].pose.pose.position.x > start_x + 0.5

        wait_for(moved, 10.0, "odom x to increase under cmd_vel")
        assert received["odom"].twist.twist.linear.x > 0.3
        wait_for(lambda: "diagnostics" in received, 5.0, "diagnostics")
        diag = received["diagnostics"]
        assert diag.level == DiagnosticStatus.OK, diag.message
        assert int({kv.key: kv.value for kv in diag.values}["frames_ok"]) > 0
    finally:
        executor.shutdown(timeout_sec=2.0)
        for node in (driver, listener):
            if node is not None:
                node.destroy_node()
        rclpy.try_shutdown(context=context)
        spinner.join(timeout=5.0)
        stop_process(firmware)
