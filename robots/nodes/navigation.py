"""Navigation node: follows the waypoints of a Navigate goal and publishes the robot's pose on its map.

Localisation here is odometry anchored to a known pose (the dock at start, the elevator car after a
ride, via ``initialpose``): enough for the simulated base, and the seam where a real localiser goes.
The follower acts on the pose *now*: the last odometry pose carried forward from its stamp along the
velocity commands sent since (robots.core.pose_prediction; time-compressed in simulation), so
delivery through DDS and a busy executor does not make it steer on where the robot was. When odometry is older than
``stale_odom_s`` the robot stops and waits for fresh odometry instead of driving blind.
The anchor offset is published as the TF edge map -> odom on ``tf`` (REP 105), at ``tf_rate_hz``
and at once whenever it changes; the odom frame name is taken from the odometry it is computed from.
"""

from __future__ import annotations

import threading
import time

from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, Twist
from hall_interfaces.action import Navigate
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage

import hallfleet.ros_env  # noqa: F401  (loopback DDS before rclpy)
from robots.core.path_follower import PathFollower, Pose, compose, inverse
from robots.core.pose_prediction import CommandHistory
from robots.nodes.conversions import odometry_to_pose, pose2d, pose_to_stamped, pose_to_transform, quaternion_to_yaw
from robots.nodes.qos import LATCHED, LATEST

FEEDBACK_PERIOD_S = 0.5  # Navigate feedback period [s, wall]; the control loop runs at control_rate_hz


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
        self.declare_parameter("stale_odom_s", 0.5, describe("odometry older than this stops the robot [s, wall]"))
        gp = lambda name: self.get_parameter(name).value  # noqa: E731
        self._anchor = Pose(gp("initial_x"), gp("initial_y"), gp("initial_yaw"))
        self.map_id: str = gp("map_id")
        self._map_frame: str = gp("map_frame_id")
        self._odom_frame = "odom"  # replaced by the odometry's own frame id
        self._lock = threading.Lock()
        self._offset: Pose | None = None  # map_from_odom
        self._odom: Pose | None = None
        self._odom_velocity = (0.0, 0.0)  # measured (linear m/s, angular rad/s) with self._odom
        self._odom_stamp_s = 0.0
        self._time_scale = max(1.0, float(gp("time_scale")))
        self._stale_odom_s = float(gp("stale_odom_s"))
        self._commands = CommandHistory(horizon_s=2.0 * self._stale_odom_s + 1.0)
        group = ReentrantCallbackGroup()
        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", 10)
        self._pose_pub = self.create_publisher(PoseStamped, "pose", 10)
        self._map_pub = self.create_publisher(String, "current_map", LATCHED)
        self._tf_pub = self.create_publisher(TFMessage, "tf", 100)
        self.create_timer(1.0 / gp("tf_rate_hz"), self._publish_tf)
        self.create_subscription(Odometry, "odom", self._on_odom, LATEST, callback_group=group)
        self.create_subscription(
            PoseWithCovarianceStamped, "initialpose", self._on_initial_pose, 10, callback_group=group
        )
        self._server = ActionServer(
            self,
            Navigate,
            "navigate",
            execute_callback=self._execute,
            goal_callback=lambda _g: GoalResponse.ACCEPT,
            cancel_callback=lambda _g: CancelResponse.ACCEPT,
            callback_group=group,
        )
        self._map_pub.publish(String(data=self.map_id))

    # -- localisation
    def _on_odom(self, msg: Odometry) -> None:
        odom = odometry_to_pose(msg)
        with self._lock:
            self._odom = odom
            self._odom_velocity = (msg.twist.twist.linear.x, msg.twist.twist.angular.z)
            self._odom_stamp_s = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
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

    def _now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def predicted_map_pose(self) -> tuple[Pose | None, float]:
        """The robot's map pose now, carried forward from the last odometry, and that odometry's age [s]."""
        now_s = self._now_s()
        with self._lock:
            if self._offset is None or self._odom is None:
                return None, float("inf")
            age_s = max(0.0, now_s - self._odom_stamp_s)
            odom_now = self._commands.predict(
                self._odom, now_s - min(age_s, self._stale_odom_s), self._odom_velocity, now_s, self._time_scale
            )
            return compose(self._offset, odom_now), age_s

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
            time_scale=self._time_scale,
        )
        period_s = 1.0 / self.get_parameter("control_rate_hz").value
        feedback = Navigate.Feedback()
        next_feedback_s = 0.0
        last_s = time.monotonic()
        while True:
            if goal_handle.is_cancel_requested or not goal_handle.is_active:
                self._stop()
                goal_handle.canceled()
                result.message = "cancelled"
                return result
            pose, age_s = self.predicted_map_pose()
            if pose is None or age_s > self._stale_odom_s:
                if pose is not None:
                    self._stop()
                    self.get_logger().warning(
                        f"odometry is {age_s:.2f} s old: holding still until it is fresh", throttle_duration_sec=5.0
                    )
                time.sleep(period_s)
                last_s = time.monotonic()
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
            self._send(command.linear_mps, command.angular_radps)
            if now_s >= next_feedback_s:  # every control cycle would double the robot's CPU (the
                next_feedback_s = now_s + FEEDBACK_PERIOD_S  # adapter's action client takes each one)
                feedback.pose = pose2d(pose.x_m, pose.y_m, pose.yaw_rad)
                feedback.distance_remaining_m = command.remaining_m
                feedback.waypoint_index = command.waypoint_index
                goal_handle.publish_feedback(feedback)
            time.sleep(period_s)

    def _send(self, linear_mps: float, angular_radps: float) -> None:
        twist = Twist()
        twist.linear.x, twist.angular.z = linear_mps, angular_radps
        with self._lock:
            self._commands.record(self._now_s(), linear_mps, angular_radps)
        self._cmd_pub.publish(twist)

    def _stop(self) -> None:
        self._send(0.0, 0.0)


def main(args: list[str] | None = None) -> None:
    from robots.nodes.spin import run_node

    run_node(NavigationNode, args)


if __name__ == "__main__":
    main()
