"""Conversions between ROS 2 messages and the project's plain types: one place for them all."""

from __future__ import annotations

import math

from geometry_msgs.msg import Pose2D, PoseStamped, Quaternion, TransformStamped
from nav_msgs.msg import Odometry
from tf2_msgs.msg import TFMessage

from robots.core.path_follower import Pose


def yaw_to_quaternion(yaw_rad: float) -> Quaternion:
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw_rad / 2.0), w=math.cos(yaw_rad / 2.0))


def quaternion_to_yaw(q: Quaternion) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def odometry_to_pose(msg: Odometry) -> Pose:
    p = msg.pose.pose
    return Pose(p.position.x, p.position.y, quaternion_to_yaw(p.orientation))


def pose_to_stamped(pose: Pose, stamp, frame_id: str = "map") -> PoseStamped:
    msg = PoseStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.pose.position.x, msg.pose.position.y = pose.x_m, pose.y_m
    msg.pose.orientation = yaw_to_quaternion(pose.yaw_rad)
    return msg


def stamped_to_pose(msg: PoseStamped) -> Pose:
    return Pose(msg.pose.position.x, msg.pose.position.y, quaternion_to_yaw(msg.pose.orientation))


def pose2d(x_m: float, y_m: float, yaw_rad: float = 0.0) -> Pose2D:
    return Pose2D(x=float(x_m), y=float(y_m), theta=float(yaw_rad))


def pose_to_transform(pose: Pose, stamp, parent_frame: str, child_frame: str) -> TransformStamped:
    """TF edge parent -> child: ``pose`` is the child frame's origin and heading in the parent frame."""
    msg = TransformStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = parent_frame
    msg.child_frame_id = child_frame
    msg.transform.translation.x, msg.transform.translation.y = float(pose.x_m), float(pose.y_m)
    msg.transform.rotation = yaw_to_quaternion(pose.yaw_rad)
    return msg


def transform_to_pose(msg: TransformStamped) -> Pose:
    t = msg.transform
    return Pose(t.translation.x, t.translation.y, quaternion_to_yaw(t.rotation))


def odometry_to_tf(msg: Odometry) -> TFMessage:
    """odom -> base_link (REP 105) from the very Odometry message published, so frames and stamps agree."""
    edge = pose_to_transform(odometry_to_pose(msg), msg.header.stamp, msg.header.frame_id, msg.child_frame_id)
    return TFMessage(transforms=[edge])
