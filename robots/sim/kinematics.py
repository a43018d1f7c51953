"""Differential-drive pose integration and a battery model for the simulated base (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pose2D:
    x_m: float = 0.0
    y_m: float = 0.0
    yaw_rad: float = 0.0


def normalize_angle(angle_rad: float) -> float:
    """Wrap to (-pi, pi]."""
    wrapped = math.fmod(angle_rad + math.pi, 2.0 * math.pi)
    if wrapped <= 0.0:
        wrapped += 2.0 * math.pi
    return wrapped - math.pi


def integrate_diff_drive(pose: Pose2D, linear_mps: float, angular_radps: float,
                         dt_s: float) -> Pose2D:
    """Advance a pose by constant body velocities for dt_s (exact arc, so large dt stays right)."""
    dyaw = angular_radps * dt_s
    if abs(dyaw) < 1e-9:
        distance_m = linear_mps * dt_s
        return Pose2D(pose.x_m + distance_m * math.cos(pose.yaw_rad), pose.y_m + distance_m * math.sin(pose.yaw_rad),
                      normalize_angle(pose.yaw_rad + dyaw))
    radius_m = linear_mps / angular_radps
    yaw1 = pose.yaw_rad + dyaw
    return Pose2D(pose.x_m + radius_m * (math.sin(yaw1) - math.sin(pose.yaw_rad)),
                  pose.y_m - radius_m * (math.cos(yaw1) - math.cos(pose.yaw_rad)),
                  normalize_angle(yaw1))


@dataclass
class BatteryModel:
    """Linear state-of-charge model; rates are fractions of full charge per simulated second.

    Defaults: about 8 h of driving, 28 h idle, 2 h from empty to full on the dock.
    """

    percentage: float = 1.0
    charging: bool = False
    drive_drain_per_s: float = 1.0 / (8 * 3600)
    idle_drain_per_s: float = 1.0 / (28 * 3600)
    charge_per_s: float = 1.0 / (2 * 3600)
    empty_voltage_v: float = 22.0
    full_voltage_v: float = 27.2

    def step(self, dt_s: float, driving: bool) -> None:
        if self.charging:
            delta = self.charge_per_s * dt_s
        else:
            delta = -(self.drive_drain_per_s if driving else self.idle_drain_per_s) * dt_s
        self.percentage = min(1.0, max(0.0, self.percentage + delta))

    @property
    def voltage_v(self) -> float:
        return self.empty_voltage_v + (self.full_voltage_v - self.empty_voltage_v) * self.percentage
