"""Follow a list of waypoints with a differential-drive base: turn toward the next point, then drive.

Pure geometry. ``time_scale`` is the simulator's time compression: one wall-clock control period is
``time_scale`` simulated periods, so commands are capped to remove at most half of the remaining
heading error or distance per period. A whole-error (deadbeat) step would be right with fresh
feedback, but odometry and commands each arrive a cycle late on a loaded machine, and a deadbeat
loop with one cycle of delay oscillates forever; half a step settles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pose:
    x_m: float = 0.0
    y_m: float = 0.0
    yaw_rad: float = 0.0


@dataclass(frozen=True)
class Command:
    linear_mps: float
    angular_radps: float
    done: bool
    remaining_m: float
    waypoint_index: int


def wrap_angle(angle_rad: float) -> float:
    return math.atan2(math.sin(angle_rad), math.cos(angle_rad))


def advance(pose: Pose, linear_mps: float, angular_radps: float, dt_s: float) -> Pose:
    """Move ``pose`` at constant body velocities for ``dt_s`` along the exact arc (right for large dt)."""
    dyaw = angular_radps * dt_s
    if abs(dyaw) < 1e-9:
        distance_m = linear_mps * dt_s
        return Pose(
            pose.x_m + distance_m * math.cos(pose.yaw_rad),
            pose.y_m + distance_m * math.sin(pose.yaw_rad),
            wrap_angle(pose.yaw_rad + dyaw),
        )
    radius_m = linear_mps / angular_radps
    yaw1 = pose.yaw_rad + dyaw
    return Pose(
        pose.x_m + radius_m * (math.sin(yaw1) - math.sin(pose.yaw_rad)),
        pose.y_m - radius_m * (math.cos(yaw1) - math.cos(pose.yaw_rad)),
        wrap_angle(yaw1),
    )


def compose(base: Pose, local: Pose) -> Pose:
    """base ⊕ local: express a pose given in ``base``'s frame in base's parent frame."""
    c, s = math.cos(base.yaw_rad), math.sin(base.yaw_rad)
    return Pose(
        base.x_m + c * local.x_m - s * local.y_m,
        base.y_m + s * local.x_m + c * local.y_m,
        wrap_angle(base.yaw_rad + local.yaw_rad),
    )


def inverse(p: Pose) -> Pose:
    c, s = math.cos(p.yaw_rad), math.sin(p.yaw_rad)
    return Pose(-c * p.x_m - s * p.y_m, s * p.x_m - c * p.y_m, wrap_angle(-p.yaw_rad))


class PathFollower:
    """Rotate-then-drive follower; done when within ``goal_tolerance_m`` of the last waypoint."""

    def __init__(
        self,
        waypoints: list[tuple[float, float]],
        max_speed_mps: float,
        *,
        max_turn_radps: float = 1.2,
        goal_tolerance_m: float = 0.15,
        heading_tolerance_rad: float = 0.35,
        control_period_s: float = 0.05,
        time_scale: float = 1.0,
    ) -> None:
        if not waypoints:
            raise ValueError("a path needs at least one waypoint")
        self.waypoints = waypoints
        self.index = 0
        self.max_speed_mps = max_speed_mps
        self.max_turn_radps = max_turn_radps
        self.goal_tolerance_m = goal_tolerance_m
        self.heading_tolerance_rad = heading_tolerance_rad
        self.time_scale = max(time_scale, 1.0)
        self.step_s = control_period_s * self.time_scale

    def remaining_m(self, pose: Pose) -> float:
        x, y = self.waypoints[self.index]
        rest = sum(math.dist(a, b) for a, b in zip(self.waypoints[self.index :], self.waypoints[self.index + 1 :]))
        return math.hypot(x - pose.x_m, y - pose.y_m) + rest

    def command(self, pose: Pose, period_s: float | None = None) -> Command:
        """Next velocity command; ``period_s`` is the measured time since the last one (a loaded
        machine runs the loop late, and the base keeps the last command until the next arrives)."""
        step_s = self.step_s if period_s is None else max(self.step_s, period_s * self.time_scale)
        while True:
            x, y = self.waypoints[self.index]
            distance = math.hypot(x - pose.x_m, y - pose.y_m)
            last = self.index == len(self.waypoints) - 1
            if distance > (self.goal_tolerance_m if last else 2 * self.goal_tolerance_m):
                break
            if last:
                return Command(0.0, 0.0, True, distance, self.index)
            self.index += 1
        heading_error = wrap_angle(math.atan2(y - pose.y_m, x - pose.x_m) - pose.yaw_rad)
        turn = max(-self.max_turn_radps, min(self.max_turn_radps, 2.0 * heading_error))
        turn_cap = 0.5 * abs(heading_error) / step_s
        turn = max(-turn_cap, min(turn_cap, turn))
        if abs(heading_error) > self.heading_tolerance_rad:
            return Command(0.0, turn, False, self.remaining_m(pose), self.index)
        # Cover at most half the distance per period, and keep the turning radius (v / w) under half
        # the distance left, or the robot circles its waypoint forever.
        speed = min(self.max_speed_mps, 0.5 * distance / step_s, 0.5 * self.max_turn_radps * distance)
        return Command(speed, turn, False, self.remaining_m(pose), self.index)
