"""Navigation node: follows the waypoints of a Navigate goal and publishes the robot's pose on its map.

Localisation here is odometry anchored to a known pose (the dock at start, the elevator car after a
ride, via ``initialpose``): enough for the simulated base, and the seam where a real localiser goes.
The anchor offset is published as the TF edge map -> odom on ``tf`` (REP 105), at ``tf_rate_hz``
and at once whenever it changes; the odom frame name is taken from the odometry it is computed from.
"""

from __future__ import annotations

import threading
import time

import hallfleet.ros_env  # noqa: F401  (loopback DDS before rclpy)
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, Twist
from hall_interfaces.action import Navigate
from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from rcl_interfaces.msg import ParameterDescriptor
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage

from robots.core.path_follower import PathFollower, Pose, compose, inverse
from robots.nodes.conversions import (odometry_to_pose, pose2d, pose_to_stamped, pose_to_transform,
                                      quaternion_to_yaw)

LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class NavigationNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("navigation", **kwargs)
        describe = lambda text: ParameterDescriptor(description=text)  # noqa: E731
        self.declare_parameter("initial_x", 0.0, describe("start pose x on the start map [m]"))
        self.declare_parameter("initial_y", 0.0, describe("start pose y on the start map [m]"))
        self.declare_parameter("initial_yaw", 0.0, describe("start heading [rad]"))
        self.declare_parameter("map_id", "floor1", describe("map the robot starts on"))
        self.declare_parameter("max_speed_mps", 1.0, describe("top driving speed [m/s]"))
        self.declare_parameter("control_rate_hz", 20.0, describe("path follower rate [Hz]"))
        self.declare_parameter("time_scale", 1.0, describe("simulation time compression factor"))
        self.declare_parameter("map_frame_id", "map", describe("TF frame of the map (REP 105)"))
        self.declare_parameter("tf_rate_hz", 10.0, describe("map -> odom TF publish rate [Hz]"))
        gp = lambda name: self.get_parameter(name).value  # noqa: E731
        self._anchor = Pose(gp("initial_x"), gp("initial_y"), gp("initial_yaw"))
        self.map_id: str = gp("map_id")
        self._map_frame: str = gp("map_frame_id")
        self._odom_frame = "odom"  # replaced by the odometry's own frame id
        self._lock = threading.Lock()
        self._offset: Pose | None = None  # map_from_odom
        self._odom: Pose | None = None
        group = ReentrantCallbackGroup()
        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", 10)
        self._pose_pub = self.create_publisher(PoseStamped, "pose", 10)
        self._map_pub = self.create_publisher(String, "current_map", LATCHED)
        self._tf_pub = self.create_publisher(TFMessage, "tf", 100)
        self.create_timer(1.0 / gp("tf_rate_hz"), self._publish_tf)
        self.create_subscription(Odometry, "odom", self._on_odom, 20, callback_group=group)
        self.create_subscription(PoseWithCovarianceStamped, "initialpose", self._on_initial_pose, 10, callback_group=group)
        self._server = ActionServer(
            self, Navigate, "navigate", execute_callback=self._execute,
            goal_callback=lambda _g: GoalResponse.ACCEPT, cancel_callback=lambda _g: CancelResponse.ACCEPT,
            callback_group=group,
        )
        self._map_pub.publish(String(data=self.map_id))

    # -- localisation
    def _on_odom(self, msg: Odometry) -> None:
        odom = odometry_to_pose(msg)
        with self._lock:
            self._odom = odom
            self._odom_frame = msg.header.frame_id or self._odom_frame
            anchored = self._offset is None
            if anchored:
                self._offset = compose(self._anchor, inverse(odom))
            pose = compose(self._offset, odom)
        self._pose_pub.publish(pose_to_stamped(pose, msg.header.stamp, self._map_frame))
        if anchored:
            self._publish_tf()

    def _on_initial_pose(self, msg: PoseWithCovarianceStamped) -> None:
        p = msg.pose.pose
        anchor = Pose(p.position.x, p.position.y, quaternion_to_yaw(p.orientation))
        with self._lock:
            self._anchor = anchor
            self._offset = compose(anchor, inverse(self._odom)) if self._odom else None
            if msg.header.frame_id:
                self.map_id = msg.header.frame_id
        self._map_pub.publish(String(data=self.map_id))
        self._publish_tf()
        self.get_logger().info(f"relocalised on {self.map_id} at ({anchor.x_m:.2f}, {anchor.y_m:.2f})")

    def _publish_tf(self) -> None:
        with self._lock:
            offset, odom_frame = self._offset, self._odom_frame
        if offset is not None:
            stamp = self.get_clock().now().to_msg()
            self._tf_pub.publish(TFMessage(transforms=[pose_to_transform(offset, stamp, self._map_frame, odom_frame)]))

    def map_pose(self) -> Pose | None:
        with self._lock:
            if self._offset is None or self._odom is None:
                return None
            return compose(self._offset, self._odom)

    # -- path following
    def _execute(self, goal_handle) -> Navigate.Result:
        goal = goal_handle.request
        result = Navigate.Result()
        if goal.map_id and goal.map_id != self.map_id:
            goal_handle.abort()
            result.message = f"goal is on map {goal.map_id} but the robot is on {self.map_id}"
            return result
        follower = PathFollower(
            [(w.x, w.y) for w in goal.waypoints],
            goal.max_speed_mps or self.get_parameter("max_speed_mps").value,
            control_period_s=1.0 / self.get_parameter("control_rate_hz").value,
            time_scale=self.get_parameter("time_scale").value,
        )
        period_s = 1.0 / self.get_parameter("control_rate_hz").value
        feedback = Navigate.Feedback()
        last_s = time.monotonic()
        while True:
            if goal_handle.is_cancel_requested or not goal_handle.is_active:
                self._stop()
                goal_handle.canceled()
                result.message = "cancelled"
                return result
            pose = self.map_pose()
            if pose is None:
                time.sleep(period_s)
                continue
            now_s = time.monotonic()
            command = follower.command(pose, period_s=now_s - last_s)
            last_s = now_s
            if command.done:
                self._stop()
                goal_handle.succeed()
                result.success, result.message = True, "arrived"
                result.final_pose = pose2d(pose.x_m, pose.y_m, pose.yaw_rad)
                return result
            twist = Twist()
            twist.linear.x, twist.angular.z = command.linear_mps, command.angular_radps
            self._cmd_pub.publish(twist)
            feedback.pose = pose2d(pose.x_m, pose.y_m, pose.yaw_rad)
            feedback.distance_remaining_m = command.remaining_m
            feedback.waypoint_index = command.waypoint_index
            goal_handle.publish_feedback(feedback)
            time.sleep(period_s)

    def _stop(self) -> None:
        self._cmd_pub.publish(Twist())


def main(args: list[str] | None = None) -> None:
    from robots.nodes.spin import run_node

    run_node(NavigationNode, args)


if __name__ == "__main__":
    main()
