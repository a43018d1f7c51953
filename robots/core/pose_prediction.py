"""Carry an odometry pose forward to *now* along the velocity commands sent since it was measured.

Odometry reaches the controller late (serial line, DDS, a busy executor). Steering on where the robot
was makes a fast loop oscillate: by the time the effect of a turn is seen, the robot has turned past
its heading. Replaying the commands sent since the pose was measured (a Smith predictor) removes that
delay from the loop. Pure: times are plain seconds on one clock, passed in.
"""

from __future__ import annotations

from collections import deque

from robots.core.path_follower import Pose, advance


class CommandHistory:
    """The velocity commands recently sent to the base, with the time each was sent."""

    def __init__(self, horizon_s: float = 2.0) -> None:
        self.horizon_s = horizon_s
        self._commands: deque[tuple[float, float, float]] = deque()  # (sent_s, linear_mps, angular_radps)

    def record(self, sent_s: float, linear_mps: float, angular_radps: float) -> None:
        self._commands.append((sent_s, linear_mps, angular_radps))
        while self._commands and self._commands[0][0] < sent_s - self.horizon_s:
            self._commands.popleft()

    def predict(
        self, pose: Pose, measured_s: float, velocity: tuple[float, float], now_s: float, time_scale: float = 1.0
    ) -> Pose:
        """``pose`` measured at ``measured_s`` while moving at ``velocity`` (linear, angular), at ``now_s``.

        Each command is assumed to act from when it was sent; ``time_scale`` turns wall seconds into
        simulated seconds for a time-compressed base."""
        t_s = measured_s
        linear_mps, angular_radps = velocity
        for sent_s, next_linear, next_angular in self._commands:
            if sent_s <= measured_s:
                continue
            if sent_s >= now_s:
                break
            pose = advance(pose, linear_mps, angular_radps, (sent_s - t_s) * time_scale)
            t_s, linear_mps, angular_radps = sent_s, next_linear, next_angular
        return advance(pose, linear_mps, angular_radps, max(0.0, now_s - t_s) * time_scale)
