"""CommandHistory carries late odometry forward; with it the follower settles where a delayed loop spins."""

from __future__ import annotations

import math

import pytest

from robots.core.path_follower import PathFollower, Pose, advance
from robots.core.pose_prediction import CommandHistory

PERIOD_S, TIME_SCALE = 0.05, 10.0


def test_without_commands_the_measured_velocity_carries_on() -> None:
    history = CommandHistory()
    predicted = history.predict(Pose(1.0, 2.0, 0.0), 10.0, (0.5, 0.0), 10.2, time_scale=10.0)
    assert (predicted.x_m, predicted.y_m, predicted.yaw_rad) == pytest.approx((2.0, 2.0, 0.0))


def test_commands_sent_after_the_measurement_are_replayed_in_order() -> None:
    history = CommandHistory(horizon_s=10.0)
    history.record(9.0, 5.0, 5.0)  # before the measurement: already in the measured velocity
    history.record(10.1, 0.0, math.pi / 2)  # turn left for 1 s
    history.record(11.1, 1.0, 0.0)  # then drive 1 s
    history.record(12.5, 9.0, 9.0)  # after now: not yet acting
    predicted = history.predict(Pose(0.0, 0.0, 0.0), 10.0, (1.0, 0.0), 12.1)
    assert (predicted.x_m, predicted.y_m) == pytest.approx((0.1, 1.0))
    assert predicted.yaw_rad == pytest.approx(math.pi / 2)


def test_old_commands_are_forgotten_after_the_horizon() -> None:
    history = CommandHistory(horizon_s=1.0)
    history.record(0.0, 1.0, 0.0)
    history.record(5.0, 0.0, 0.0)
    predicted = history.predict(Pose(), -1.0, (0.0, 0.0), 6.0)
    assert predicted.x_m == pytest.approx(0.0), "the command from 0 s fell out of the 1 s horizon"


def _drive_late(
    start: Pose, goal: tuple[float, float], *, odom_delay_cycles: int, predict: bool, max_steps: int
) -> tuple[Pose, int]:
    """A loaded robot process at time scale 10: odometry reaches the follower ``odom_delay_cycles``
    late, each command reaches the base a cycle after it was sent."""
    follower = PathFollower([goal], max_speed_mps=1.0, control_period_s=PERIOD_S, time_scale=TIME_SCALE)
    history = CommandHistory()
    sim_dt_s = PERIOD_S * TIME_SCALE
    measured = [(start, (0.0, 0.0))] * (odom_delay_cycles + 1)  # odometry: pose and the velocity it moves at
    pose, in_flight = start, (0.0, 0.0)
    for step in range(max_steps):
        now_s = step * PERIOD_S
        seen, velocity = measured[-1 - odom_delay_cycles]
        if predict:
            seen = history.predict(seen, now_s - odom_delay_cycles * PERIOD_S, velocity, now_s, TIME_SCALE)
        cmd = follower.command(seen, period_s=PERIOD_S)
        if cmd.done:
            return pose, step
        history.record(now_s, cmd.linear_mps, cmd.angular_radps)
        applied, in_flight = in_flight, (cmd.linear_mps, cmd.angular_radps)
        pose = advance(pose, *applied, sim_dt_s)
        measured.append((pose, in_flight))
    return pose, max_steps


@pytest.mark.parametrize("start_yaw_rad", [-2.78, 0.4, 3.0])
@pytest.mark.parametrize("odom_delay_cycles", [1, 2, 3])
def test_late_odometry_with_prediction_arrives(start_yaw_rad: float, odom_delay_cycles: int) -> None:
    pose, steps = _drive_late(
        Pose(6.0, 9.0, start_yaw_rad), (6.0, 5.0), odom_delay_cycles=odom_delay_cycles, predict=True, max_steps=300
    )
    assert steps < 300, f"never arrived; ended at {pose}"
    assert math.hypot(pose.x_m - 6.0, pose.y_m - 5.0) <= 0.5


def test_the_same_delay_without_prediction_never_settles() -> None:
    # The reason the navigation node predicts: 150 ms of odometry delay is 1.5 simulated seconds.
    pose, steps = _drive_late(Pose(6.0, 9.0, -2.78), (6.0, 5.0), odom_delay_cycles=3, predict=False, max_steps=300)
    assert steps == 300, f"arrived at {pose} even so: the prediction test above proves nothing"
