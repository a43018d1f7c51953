"""PathFollower driven in a tiny unicycle simulation: it must reach goals, turn first, not oscillate."""

from __future__ import annotations

import math

import pytest

from robots.core.path_follower import Command, PathFollower, Pose, advance, compose, inverse, wrap_angle

PERIOD_S = 0.05


def simulate(follower: PathFollower, pose: Pose, dt_s: float, max_steps: int) -> tuple[Pose, list[Command], int]:
    """Integrate the commands with unicycle kinematics; returns final pose, commands and steps taken."""
    commands: list[Command] = []
    for step in range(max_steps):
        cmd = follower.command(pose)
        commands.append(cmd)
        if cmd.done:
            return pose, commands, step
        yaw = pose.yaw_rad + cmd.angular_radps * dt_s
        mid = pose.yaw_rad + 0.5 * cmd.angular_radps * dt_s
        pose = Pose(
            pose.x_m + cmd.linear_mps * math.cos(mid) * dt_s,
            pose.y_m + cmd.linear_mps * math.sin(mid) * dt_s,
            wrap_angle(yaw),
        )
    raise AssertionError(f"not done after {max_steps} steps; at {pose}, last command {commands[-1]}")


def test_reaches_a_straight_line_goal() -> None:
    follower = PathFollower([(3.0, 0.0)], max_speed_mps=0.5, control_period_s=PERIOD_S)
    final, commands, steps = simulate(follower, Pose(0.0, 0.0, 0.0), PERIOD_S, 1000)
    assert math.dist((final.x_m, final.y_m), (3.0, 0.0)) <= 0.15
    assert max(c.linear_mps for c in commands) <= 0.5 + 1e-9
    assert all(c.linear_mps >= 0.0 for c in commands)
    assert steps >= 3.0 / 0.5 / PERIOD_S * 0.9, "cannot be faster than max speed"
    assert commands[0].remaining_m == pytest.approx(3.0)


def test_turns_in_place_first_when_facing_away() -> None:
    follower = PathFollower([(2.0, 0.0)], max_speed_mps=0.5, control_period_s=PERIOD_S)
    final, commands, _ = simulate(follower, Pose(0.0, 0.0, math.pi), PERIOD_S, 2000)
    assert commands[0].linear_mps == 0.0 and commands[0].angular_radps != 0.0
    first_drive = next(i for i, c in enumerate(commands) if c.linear_mps > 0)
    assert first_drive > 10, "it must rotate for a while before moving"
    assert all(abs(c.angular_radps) <= 1.2 + 1e-9 for c in commands)
    assert math.dist((final.x_m, final.y_m), (2.0, 0.0)) <= 0.15


def test_follows_several_waypoints_in_order() -> None:
    waypoints = [(2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    follower = PathFollower(waypoints, max_speed_mps=0.6, control_period_s=PERIOD_S)
    final, commands, _ = simulate(follower, Pose(0.0, 0.0, 0.0), PERIOD_S, 3000)
    indices = [c.waypoint_index for c in commands]
    assert indices == sorted(indices) and indices[-1] == 2
    assert math.dist((final.x_m, final.y_m), (0.0, 2.0)) <= 0.15
    assert commands[0].remaining_m == pytest.approx(6.0)


@pytest.mark.parametrize("start_yaw_rad", [0.0, 2.5, -math.pi / 2])
def test_time_scale_20_reaches_the_goal_without_oscillating(start_yaw_rad: float) -> None:
    time_scale = 20.0
    follower = PathFollower(
        [(4.0, 1.0), (6.0, -2.0)], max_speed_mps=0.8, control_period_s=PERIOD_S, time_scale=time_scale
    )
    final, commands, steps = simulate(follower, Pose(0.0, 0.0, start_yaw_rad), PERIOD_S * time_scale, 60)
    assert math.dist((final.x_m, final.y_m), (6.0, -2.0)) <= 0.15
    assert steps < 40
    # no back-and-forth: the turn command never flips sign twice in a row
    turns = [c.angular_radps for c in commands if abs(c.angular_radps) > 1e-6]
    flips = sum(1 for a, b, c in zip(turns, turns[1:], turns[2:]) if (a > 0) != (b > 0) and (b > 0) != (c > 0))
    assert flips == 0


def test_already_at_the_goal_is_done_immediately() -> None:
    follower = PathFollower([(1.0, 1.0)], max_speed_mps=0.5)
    cmd = follower.command(Pose(1.05, 1.0, 0.3))
    assert cmd.done and cmd.linear_mps == 0.0 and cmd.angular_radps == 0.0


def test_empty_path_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one waypoint"):
        PathFollower([], max_speed_mps=0.5)


@pytest.mark.parametrize(
    "pose",
    [Pose(0.0, 0.0, 0.0), Pose(1.5, -2.0, 0.7), Pose(-3.0, 4.0, math.pi), Pose(10.0, 0.1, -2.9)],
)
def test_compose_with_inverse_is_identity(pose: Pose) -> None:
    for result in (compose(inverse(pose), pose), compose(pose, inverse(pose))):
        assert result.x_m == pytest.approx(0.0, abs=1e-9)
        assert result.y_m == pytest.approx(0.0, abs=1e-9)
        assert wrap_angle(result.yaw_rad) == pytest.approx(0.0, abs=1e-9)


def test_compose_places_a_local_point_in_the_parent_frame() -> None:
    robot = Pose(2.0, 1.0, math.pi / 2)
    ahead = compose(robot, Pose(1.0, 0.0, 0.0))
    assert (ahead.x_m, ahead.y_m) == pytest.approx((2.0, 2.0))
    assert ahead.yaw_rad == pytest.approx(math.pi / 2)
    back = compose(inverse(robot), ahead)
    assert (back.x_m, back.y_m, back.yaw_rad) == pytest.approx((1.0, 0.0, 0.0), abs=1e-9)


def _drive_with_late_commands(
    follower: PathFollower, pose: Pose, period_s: float, time_scale: float, max_steps: int
) -> tuple[Pose, int]:
    """Like a loaded machine: the loop runs every ``period_s`` and the base keeps each command that long."""
    for step in range(max_steps):
        cmd = follower.command(pose, period_s=period_s)
        if cmd.done:
            return pose, step
        sim_dt = period_s * time_scale
        yaw = pose.yaw_rad + cmd.angular_radps * sim_dt
        pose = Pose(
            pose.x_m + cmd.linear_mps * sim_dt * math.cos(yaw), pose.y_m + cmd.linear_mps * sim_dt * math.sin(yaw), yaw
        )
    return pose, max_steps


@pytest.mark.parametrize("period_s", [0.05, 0.2, 0.5])
def test_late_control_loop_still_arrives_instead_of_circling(period_s: float) -> None:
    # The waypoint is 0.8 m away, slightly off the heading: a robot at full speed whose turn rate is
    # capped would orbit it; a loop running 4-10x late would overshoot it on every command.
    follower = PathFollower([(0.0, -0.8)], max_speed_mps=1.0, control_period_s=0.05, time_scale=10.0)
    pose, steps = _drive_with_late_commands(follower, Pose(0.15, 0.0, -1.4), period_s, 10.0, max_steps=400)
    assert steps < 400, f"never arrived; ended at {pose}"
    assert math.hypot(pose.x_m, pose.y_m + 0.8) <= follower.goal_tolerance_m


@pytest.mark.parametrize("start_yaw_rad", [-2.78, 1.0, 3.0])
def test_pose_one_cycle_stale_still_settles_instead_of_spinning(start_yaw_rad: float) -> None:
    # Odometry reaches the controller a cycle late (20 Hz odometry, DDS hop): at time scale 10 a
    # controller that removes the whole heading error per cycle overshoots on every command and spins.
    time_scale, period_s = 10.0, 0.05
    follower = PathFollower([(6.0, 5.0)], max_speed_mps=1.0, control_period_s=period_s, time_scale=time_scale)
    pose = stale = Pose(6.5, 9.3, start_yaw_rad)
    for step in range(400):  # noqa: B007  (read after the loop)
        cmd = follower.command(stale, period_s=period_s)
        if cmd.done:
            break
        stale = pose
        sim_dt = period_s * time_scale
        yaw = wrap_angle(pose.yaw_rad + cmd.angular_radps * sim_dt)
        pose = Pose(
            pose.x_m + cmd.linear_mps * sim_dt * math.cos(yaw), pose.y_m + cmd.linear_mps * sim_dt * math.sin(yaw), yaw
        )
    assert step < 399, f"never arrived; ended at {pose}"


def test_advance_matches_small_steps() -> None:
    one_step = advance(Pose(1.0, -1.0, 0.3), 0.8, -0.6, 2.0)
    pose = Pose(1.0, -1.0, 0.3)
    for _ in range(2000):
        pose = advance(pose, 0.8, -0.6, 0.001)
    assert (one_step.x_m, one_step.y_m, one_step.yaw_rad) == pytest.approx((pose.x_m, pose.y_m, pose.yaw_rad), abs=1e-6)
