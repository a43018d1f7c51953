"""TF per REP 103/105 on a real ROS 2 graph: map -> odom -> base_link on /<robot>/tf equals the robot's pose.

BaseDriverNode drives the simulated firmware over a pty; NavigationNode anchors odometry on the map.
A plain subscriber (no tf2 library: it is not on PyPI) composes the two TF edges and compares them
with what the robot reports on /<robot>/pose.
"""

from __future__ import annotations

import os
import random

if os.environ.get("ROS_DOMAIN_ID", "0") in ("", "0"):
    os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 200))

import math  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import rclpy  # noqa: E402
from geometry_msgs.msg import PoseStamped, TransformStamped, Twist  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from robot_process import REPO_ROOT, stop_process, wait_for  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

import hallfleet.ros_env  # noqa: E402,F401  (before rclpy)
from robots.core.path_follower import Pose, compose, wrap_angle  # noqa: E402
from robots.nodes.base_driver import BaseDriverNode  # noqa: E402
from robots.nodes.conversions import stamped_to_pose, transform_to_pose  # noqa: E402
from robots.nodes.navigation import NavigationNode  # noqa: E402

pytestmark = pytest.mark.integration
START = Pose(3.0, -2.0, 0.8)  # a non-trivial anchor so map -> odom is not the identity


def stamp_key(msg) -> tuple[int, int]:
    return (msg.header.stamp.sec, msg.header.stamp.nanosec)


class Recorder:
    """What arrives on tf, odom and pose, keyed by stamp so matching messages can be paired."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.map_to_odom: TransformStamped | None = None
        self.odom_to_base: dict[tuple[int, int], TransformStamped] = {}
        self.odom: dict[tuple[int, int], Odometry] = {}
        self.poses: dict[tuple[int, int], PoseStamped] = {}
        self.other_edges: set[tuple[str, str]] = set()

    def on_tf(self, msg: TFMessage) -> None:
        with self.lock:
            for t in msg.transforms:
                edge = (t.header.frame_id, t.child_frame_id)
                if edge == ("map", "odom"):
                    self.map_to_odom = t
                elif edge == ("odom", "base_link"):
                    self.odom_to_base[stamp_key(t)] = t
                else:
                    self.other_edges.add(edge)

    def on_odom(self, msg: Odometry) -> None:
        with self.lock:
            self.odom[stamp_key(msg)] = msg

    def on_pose(self, msg: PoseStamped) -> None:
        with self.lock:
            self.poses[stamp_key(msg)] = msg

    def latest_matched(self) -> tuple[TransformStamped, PoseStamped, Odometry] | None:
        """The newest odom -> base_link edge for which the same-stamped pose and odometry arrived."""
        with self.lock:
            keys = sorted(set(self.odom_to_base) & set(self.poses) & set(self.odom))
            return (self.odom_to_base[keys[-1]], self.poses[keys[-1]], self.odom[keys[-1]]) if keys else None


def test_tf_tree_map_odom_base_link_matches_the_published_pose(tmp_path: Path) -> None:
    ns = "tf" + secrets.token_hex(3)
    link = tmp_path / "base.tty"
    firmware = subprocess.Popen(
        [sys.executable, "-m", "robots.sim.firmware", "--link", str(link), "--time-scale", "5"], cwd=REPO_ROOT
    )
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = MultiThreadedExecutor(num_threads=3, context=context)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    nodes = []
    rec = Recorder()
    try:
        wait_for(link.exists, 10.0, f"firmware simulator link {link}")
        start = [
            Parameter("initial_x", value=START.x_m),
            Parameter("initial_y", value=START.y_m),
            Parameter("initial_yaw", value=START.yaw_rad),
            Parameter("time_scale", value=5.0),
        ]
        nodes.append(BaseDriverNode(str(link), namespace=ns, context=context))
        nodes.append(NavigationNode(namespace=ns, parameter_overrides=start, context=context))
        listener = rclpy.create_node("tf_listener", context=context)
        nodes.append(listener)
        listener.create_subscription(TFMessage, f"/{ns}/tf", rec.on_tf, 100)
        listener.create_subscription(Odometry, f"/{ns}/odom", rec.on_odom, 50)
        listener.create_subscription(PoseStamped, f"/{ns}/pose", rec.on_pose, 50)
        cmd_pub = listener.create_publisher(Twist, f"/{ns}/cmd_vel", 10)
        for node in nodes:
            executor.add_node(node)
        spinner.start()

        wait_for(
            lambda: rec.map_to_odom is not None and rec.latest_matched() is not None,
            15.0,
            f"map -> odom and odom -> base_link on /{ns}/tf",
        )
        twist = Twist()
        twist.linear.x, twist.angular.z = 0.5, 0.4

        def moved() -> bool:
            cmd_pub.publish(twist)
            matched = rec.latest_matched()
            return matched is not None and math.hypot(*_xy(matched[0])) > 0.5

        wait_for(moved, 20.0, "the robot to drive 0.5 m from its odometry origin under cmd_vel")

        edge, pose_msg, odom_msg = rec.latest_matched()
        assert (odom_msg.header.frame_id, odom_msg.child_frame_id) == (edge.header.frame_id, edge.child_frame_id)
        assert pose_msg.header.frame_id == rec.map_to_odom.header.frame_id == "map"
        assert not rec.other_edges, f"unexpected TF edges {rec.other_edges}"
        via_tf = compose(transform_to_pose(rec.map_to_odom), transform_to_pose(edge))
        reported = stamped_to_pose(pose_msg)
        assert math.hypot(via_tf.x_m - reported.x_m, via_tf.y_m - reported.y_m) < 0.01, (via_tf, reported)
        assert abs(wrap_angle(via_tf.yaw_rad - reported.yaw_rad)) < 0.01, (via_tf, reported)
        # the robot really moved on the map, away from where it was anchored
        assert math.hypot(reported.x_m - START.x_m, reported.y_m - START.y_m) > 0.3
    finally:
        executor.shutdown(timeout_sec=2.0)
        for node in reversed(nodes):
            node.destroy_node()
        rclpy.try_shutdown(context=context)
        spinner.join(timeout=5.0)
        stop_process(firmware)


def _xy(t: TransformStamped) -> tuple[float, float]:
    return t.transform.translation.x, t.transform.translation.y
