"""Watch one robot of a running HallFleet hall from a plain rclpy script.

It knows only public topic names and standard message types, nothing of HallFleet's code:
  /<robot_id>/pose           geometry_msgs/PoseStamped (frame "map")
  /<robot_id>/battery_state  sensor_msgs/BatteryState (percentage 0..1)
  /diagnostics               diagnostic_msgs/DiagnosticArray (the robot's base driver reports its
                             serial link there: level + counters such as frames_ok, crc_errors)

Usage (same ROS_DOMAIN_ID as the hall; `hallfleet demo` prints it):
  ROS_DOMAIN_ID=<n> .venv/bin/python tools/watch_robot.py dr1 [--seconds 30] [--json]

Prints one line per second; with --json a final one-line JSON summary. Stops after --seconds or on
Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

LEVEL_NAMES = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}
LINK_COUNTERS = ("frames_ok", "crc_errors", "garbage_bytes", "reconnects", "silent_periods")
# Consecutive poses further apart than this are a relocalisation or a floor change, not driving.
MAX_STEP_M = 3.0


@dataclass
class Watch:
    """What has been seen of one robot so far (plain data, no ROS types)."""

    robot_id: str
    pose_samples: int = 0
    first_pose: dict[str, Any] | None = None
    last_pose: dict[str, Any] | None = None
    distance_m: float = 0.0
    battery_samples: int = 0
    battery_first_pct: float | None = None
    battery_last_pct: float | None = None
    diagnostics_samples: int = 0
    levels_seen: list[str] = field(default_factory=list)
    last_level: str | None = None
    last_message: str = ""
    link_values: dict[str, str] = field(default_factory=dict)

    def add_pose(self, x_m: float, y_m: float, yaw_rad: float, frame_id: str) -> None:
        pose = {"x_m": round(x_m, 3), "y_m": round(y_m, 3), "yaw_rad": round(yaw_rad, 3), "frame_id": frame_id}
        if self.last_pose is not None:
            step_m = math.hypot(x_m - self.last_pose["x_m"], y_m - self.last_pose["y_m"])
            if step_m <= MAX_STEP_M:
                self.distance_m += step_m
        self.first_pose = self.first_pose or pose
        self.last_pose = pose
        self.pose_samples += 1

    def add_battery(self, fraction: float) -> None:
        if math.isnan(fraction):
            return  # unknown charge
        pct = round(fraction * 100.0, 3)
        if self.battery_first_pct is None:
            self.battery_first_pct = pct
        self.battery_last_pct = pct
        self.battery_samples += 1

    def add_link_status(self, level: int, message: str, values: dict[str, str]) -> None:
        name = LEVEL_NAMES.get(level, str(level))
        if name not in self.levels_seen:
            self.levels_seen.append(name)
        self.last_level, self.last_message, self.link_values = name, message, values
        self.diagnostics_samples += 1

    def line(self, elapsed_s: float) -> str:
        where = (
            "pose=?"
            if self.last_pose is None
            else (
                f"pose=({self.last_pose['x_m']:.2f}, {self.last_pose['y_m']:.2f}) m yaw={self.last_pose['yaw_rad']:+.2f} rad"
            )
        )
        battery = "battery=?" if self.battery_last_pct is None else f"battery={self.battery_last_pct:.2f}%"
        link = (
            "link=?"
            if self.last_level is None
            else (
                f"link={self.last_level} ({self.last_message}) "
                + " ".join(f"{k}={self.link_values[k]}" for k in LINK_COUNTERS if k in self.link_values)
            )
        )
        return f"[{self.robot_id} t={elapsed_s:5.1f}s] {where} travelled={self.distance_m:.2f} m {battery} {link}"

    def summary(self) -> dict[str, Any]:
        return {
            "robot_id": self.robot_id,
            "samples": {
                "pose": self.pose_samples,
                "battery": self.battery_samples,
                "diagnostics": self.diagnostics_samples,
            },
            "first_pose": self.first_pose,
            "last_pose": self.last_pose,
            "distance_m": round(self.distance_m, 3),
            "battery_first_pct": self.battery_first_pct,
            "battery_last_pct": self.battery_last_pct,
            "diagnostics_levels": self.levels_seen,
            "link": {
                "level": self.last_level,
                "message": self.last_message,
                **{k: self.link_values[k] for k in LINK_COUNTERS if k in self.link_values},
            },
        }


def yaw_from_quaternion(x: float, y: float, z: float, w: float) -> float:
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def is_robots_link(robot_id: str, name: str, hardware_id: str) -> bool:
    """The base driver names its status '/<robot_id>/base_driver: ...'; hardware_id is its port."""
    return (f"/{robot_id}/" in name and "base_driver" in name) or bool(
        re.search(rf"(?<![A-Za-z0-9_]){re.escape(robot_id)}(?![A-Za-z0-9_])", hardware_id)
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Watch one robot's pose, battery and serial link over ROS 2.")
    parser.add_argument("robot_id", help="robot namespace, e.g. dr1")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary line at the end")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", args.robot_id):
        parser.error(f"robot_id {args.robot_id!r} is not a ROS 2 namespace name")
    if args.seconds is not None and args.seconds <= 0:
        parser.error(f"--seconds must be positive, got {args.seconds}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if not os.environ.get("ROS_DOMAIN_ID", "").strip():
        print(
            "watch_robot: ROS_DOMAIN_ID is not set. Use the hall's domain (`hallfleet demo` prints it), e.g.\n"
            f"  ROS_DOMAIN_ID=42 {sys.executable} {sys.argv[0]} {args.robot_id}",
            file=sys.stderr,
        )
        return 2
    # Discovery stays on this machine; set before rclpy is imported.
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_LOG_DIR", os.path.join(tempfile.gettempdir(), "watch_robot_ros_logs"))

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseStamped
    from rclpy.executors import ExternalShutdownException
    from sensor_msgs.msg import BatteryState

    watch = Watch(args.robot_id)

    def on_pose(msg: PoseStamped) -> None:
        q = msg.pose.orientation
        watch.add_pose(
            msg.pose.position.x, msg.pose.position.y, yaw_from_quaternion(q.x, q.y, q.z, q.w), msg.header.frame_id
        )

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for status in msg.status:
            if is_robots_link(args.robot_id, status.name, status.hardware_id):
                level = status.level[0] if isinstance(status.level, (bytes, bytearray)) else int(status.level)
                watch.add_link_status(level, status.message, {kv.key: kv.value for kv in status.values})

    # Ctrl-C raises KeyboardInterrupt even when started in the background of a script (which
    # inherits SIGINT ignored); rclpy's handlers chain to it and turn SIGTERM into a shutdown.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rclpy.init(args=[])
    node = rclpy.create_node(f"watch_robot_{args.robot_id}_{os.getpid()}")
    node.create_subscription(PoseStamped, f"/{args.robot_id}/pose", on_pose, 10)
    node.create_subscription(
        BatteryState, f"/{args.robot_id}/battery_state", lambda msg: watch.add_battery(float(msg.percentage)), 10
    )
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    started = time.monotonic()
    next_line = started + 1.0
    try:
        while args.seconds is None or time.monotonic() - started < args.seconds:
            rclpy.spin_once(node, timeout_sec=0.1)
            if time.monotonic() >= next_line:
                print(watch.line(time.monotonic() - started), flush=True)
                next_line += 1.0
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    if args.json:
        print(json.dumps(watch.summary()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
