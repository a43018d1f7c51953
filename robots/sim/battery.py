"""Battery model for the simulated base (pure); its pose moves by robots.core.path_follower.advance."""

from __future__ import annotations

from dataclasses import dataclass


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
