"""Simulated motor base controller serving the base protocol on a pseudo-terminal.

Run ``python -m robots.sim.firmware --link /tmp/robot1_base``: PATH becomes a symlink to the pty
slave, so the driver opens it exactly like a real serial port. Simulated time runs time_scale times
faster than wall time; the watchdog and line pacing are in wall time, like the real board.
SIGUSR1 toggles charging (a dock contact the simulation has no other way to close); SIGUSR2 presses
the board's e-stop button, which latches until the host sends EstopCmd(engage=False); SIGHUP is a
bump against the safety bumper: the wheels stop and the bumper reads pressed for BUMPER_HOLD_S.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import signal
import sys
import time
import tty
from pathlib import Path

from robots.core.base_protocol import (
    Battery,
    ChargeCmd,
    EstopCmd,
    FrameDecoder,
    Heartbeat,
    LockCmd,
    LockState,
    Message,
    Odometry,
    Status,
    VelocityCmd,
    encode,
)
from robots.core.path_follower import Pose, advance
from robots.sim.battery import BatteryModel

MAX_LINEAR_MPS = 1.2
MAX_ANGULAR_RADPS = 1.5
WATCHDOG_S = 0.5
TICK_S = 0.01
ODOM_PERIOD_S = 0.05
BATTERY_PERIOD_S = 1.0
LOCK_PERIOD_S = 1.0
STATUS_PERIOD_S = 0.5
ODOM_NOISE_STD = 0.003  # on reported velocities, in m/s and rad/s
BUMPER_HOLD_S = 1.0  # wall time the bumper stays pressed after a bump


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


class FirmwareState:
    """The board's behaviour without the pty, so it is easy to reason about (wall times passed in)."""

    def __init__(
        self,
        compartments: int,
        battery: float,
        seed: int,
        time_scale: float,
        charging: bool = False,
        estop: bool = False,
    ) -> None:
        self.time_scale = time_scale
        self.pose = Pose()
        self.cmd_linear_mps = 0.0
        self.cmd_angular_radps = 0.0
        self.estop = estop
        self.bumper_until_s = float("-inf")
        self.locks = [True] * compartments
        self.battery = BatteryModel(percentage=battery, charging=charging)
        self.rng = random.Random(seed)
        self.last_command_wall_s: float | None = None
        self.sim_time_s = 0.0

    def press_estop_button(self) -> None:
        """The red button on the robot: stop at once and latch; only the host's EstopCmd(False) resets."""
        self.estop = True
        self.cmd_linear_mps = self.cmd_angular_radps = 0.0

    def bump(self, now_s: float) -> None:
        """Something hit the bumper: stop at once; motion resumes only on a new command after release."""
        self.bumper_until_s = now_s + BUMPER_HOLD_S
        self.cmd_linear_mps = self.cmd_angular_radps = 0.0

    def bumper_pressed(self, now_s: float) -> bool:
        return now_s < self.bumper_until_s

    def heartbeat_ok(self, now_s: float) -> bool:
        return self.last_command_wall_s is not None and now_s - self.last_command_wall_s <= WATCHDOG_S

    def motor_velocity(self, now_s: float) -> tuple[float, float]:
        if self.estop or self.bumper_pressed(now_s) or not self.heartbeat_ok(now_s):
            return 0.0, 0.0
        return self.cmd_linear_mps, self.cmd_angular_radps

    def handle(self, msg: Message, now_s: float) -> bool:
        """Apply one host message; True when lock state changed (so it is reported at once)."""
        if isinstance(msg, VelocityCmd):
            self.last_command_wall_s = now_s
            if not self.estop and not self.bumper_pressed(now_s):  # ignored, not stored: no old motion resumes
                self.cmd_linear_mps = _clamp(msg.linear_mps, MAX_LINEAR_MPS)
                self.cmd_angular_radps = _clamp(msg.angular_radps, MAX_ANGULAR_RADPS)
        elif isinstance(msg, Heartbeat):
            self.last_command_wall_s = now_s
        elif isinstance(msg, EstopCmd):
            self.estop = msg.engage
            self.cmd_linear_mps = self.cmd_angular_radps = 0.0
        elif isinstance(msg, ChargeCmd):
            self.battery.charging = msg.on
        elif isinstance(msg, LockCmd) and 1 <= msg.compartment_id <= len(self.locks):
            changed = self.locks[msg.compartment_id - 1] != msg.locked
            self.locks[msg.compartment_id - 1] = msg.locked
            return changed
        return False

    def step(self, wall_dt_s: float, now_s: float) -> None:
        sim_dt_s = wall_dt_s * self.time_scale
        linear_mps, angular_radps = self.motor_velocity(now_s)
        if not self.heartbeat_ok(now_s):
            self.cmd_linear_mps = self.cmd_angular_radps = 0.0  # stale set-points never resume
        self.pose = advance(self.pose, linear_mps, angular_radps, sim_dt_s)
        self.battery.step(sim_dt_s, driving=(linear_mps != 0.0 or angular_radps != 0.0))
        self.sim_time_s += sim_dt_s

    def odometry(self, now_s: float) -> Odometry:
        linear_mps, angular_radps = self.motor_velocity(now_s)
        if linear_mps or angular_radps:
            linear_mps += self.rng.gauss(0.0, ODOM_NOISE_STD)
            angular_radps += self.rng.gauss(0.0, ODOM_NOISE_STD)
        return Odometry(
            self.pose.x_m,
            self.pose.y_m,
            self.pose.yaw_rad,
            linear_mps,
            angular_radps,
            int(self.sim_time_s * 1000) & 0xFFFFFFFF,
        )

    def battery_msg(self) -> Battery:
        return Battery(self.battery.voltage_v, self.battery.percentage, self.battery.charging)

    def lock_msg(self) -> LockState:
        return LockState(tuple(self.locks))

    def status(self, now_s: float) -> Status:
        return Status(self.estop, self.bumper_pressed(now_s), self.heartbeat_ok(now_s))


def _make_link(link: Path, target: str) -> None:
    """Point link at target, replacing whatever is there, atomically."""
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def serve(link: Path, state: FirmwareState, baud: int) -> None:
    master_fd, slave_fd = os.openpty()
    tty.setraw(slave_fd)
    tty.setraw(master_fd)
    os.set_blocking(master_fd, False)
    slave_name = os.ttyname(slave_fd)
    _make_link(link, slave_name)
    stop = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stop
        if signum == signal.SIGUSR1:
            state.battery.charging = not state.battery.charging
        elif signum == signal.SIGUSR2:
            state.press_estop_button()
        elif signum == signal.SIGHUP:
            state.bump(time.monotonic())
        else:
            stop = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    decoder = FrameDecoder()
    outbuf = bytearray()
    bytes_per_s = baud / 10.0  # 8N1: start + 8 data + stop bits
    burst_cap_bytes = max(16.0, bytes_per_s * TICK_S)
    tx_budget = 0.0
    now = time.monotonic()
    last_tick = last_tx = now
    next_due = {"odom": now, "battery": now, "lock": now, "status": now}
    last_status: Status | None = None
    try:
        while not stop:
            now = time.monotonic()
            timeout_s = max(0.0, last_tick + TICK_S - now)
            if outbuf:
                timeout_s = min(timeout_s, 0.002)
            try:
                readable, _, _ = select.select([master_fd], [], [], timeout_s)
            except InterruptedError:
                continue
            now = time.monotonic()
            if readable:
                try:
                    data = os.read(master_fd, 4096)
                except (BlockingIOError, InterruptedError):
                    data = b""
                for msg in decoder.feed(data):
                    if state.handle(msg, now):
                        outbuf += encode(state.lock_msg())
            if now - last_tick >= TICK_S:
                state.step(now - last_tick, now)
                last_tick = now
                status = state.status(now)
                if now >= next_due["odom"]:
                    outbuf += encode(state.odometry(now))
                    next_due["odom"] = max(next_due["odom"] + ODOM_PERIOD_S, now - ODOM_PERIOD_S)
                if now >= next_due["battery"]:
                    outbuf += encode(state.battery_msg())
                    next_due["battery"] = now + BATTERY_PERIOD_S
                if now >= next_due["lock"]:
                    outbuf += encode(state.lock_msg())
                    next_due["lock"] = now + LOCK_PERIOD_S
                if now >= next_due["status"] or status != last_status:
                    outbuf += encode(status)
                    next_due["status"] = now + STATUS_PERIOD_S
                    last_status = status
            if len(outbuf) > 8192:  # line slower than traffic: drop the backlog, keep it current
                outbuf.clear()
            tx_budget = min(burst_cap_bytes, tx_budget + (now - last_tx) * bytes_per_s)
            last_tx = now
            n = min(len(outbuf), int(tx_budget))
            if n > 0:
                try:
                    written = os.write(master_fd, bytes(outbuf[:n]))
                except BlockingIOError:
                    written = n  # nobody is reading the line: the bytes are lost, as on a UART
                except OSError:
                    written = n
                del outbuf[:written]
                tx_budget -= written
    finally:
        try:
            if os.path.islink(link) and os.readlink(link) == slave_name:
                link.unlink()
        except OSError:
            pass
        os.close(master_fd)
        os.close(slave_fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", required=True, type=Path, help="symlink to create for the pty")
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--compartments", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--battery", type=float, default=1.0, help="initial charge 0..1")
    parser.add_argument("--charging", action="store_true", help="start on the dock, charging")
    parser.add_argument("--estop", action="store_true", help="boot with the e-stop button pressed (latched)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.battery <= 1.0:
        parser.error(f"--battery must be within 0..1, got {args.battery}")
    if not 1 <= args.compartments <= 64:
        parser.error(f"--compartments must be within 1..64, got {args.compartments}")
    state = FirmwareState(args.compartments, args.battery, args.seed, args.time_scale, args.charging, args.estop)
    serve(args.link, state, args.baud)
    return 0


if __name__ == "__main__":
    sys.exit(main())
