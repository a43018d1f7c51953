"""Serial driver against the simulated firmware over a real pty (and a raw pty the test controls)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import stop_process

from robots.core.base_protocol import (
    EstopCmd,
    Heartbeat,
    LockCmd,
    LockState,
    Odometry,
    Status,
    VelocityCmd,
    encode,
)
from robots.drivers.serial_base import SerialMotorBase

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], object], timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


class Recorder:
    """Keeps the latest message of each type from the driver's reader thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latest: dict[type, object] = {}
        self.count: dict[type, int] = {}

    def __call__(self, msg: object) -> None:
        with self.lock:
            self.latest[type(msg)] = msg
            self.count[type(msg)] = self.count.get(type(msg), 0) + 1

    def get(self, cls: type) -> object | None:
        with self.lock:
            return self.latest.get(cls)

    def n(self, cls: type) -> int:
        with self.lock:
            return self.count.get(cls, 0)


def start_firmware(link: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "robots.sim.firmware", "--link", str(link), "--time-scale", "10", *extra], cwd=REPO_ROOT
    )


@pytest.fixture
def link(tmp_path: Path) -> Path:
    return tmp_path / "base"


@pytest.fixture
def firmware(link: Path) -> Iterator[subprocess.Popen]:
    proc = start_firmware(link)
    try:
        yield proc
    finally:
        stop_process(proc)


@pytest.fixture
def driver(link: Path, firmware: subprocess.Popen) -> Iterator[tuple[SerialMotorBase, Recorder]]:
    recorder = Recorder()
    base = SerialMotorBase(str(link), recorder).start()  # may start before the link exists
    try:
        wait_for(lambda: recorder.get(Odometry), 10.0, "first odometry frame")
        yield base, recorder
    finally:
        base.close()


def drive(base: SerialMotorBase, cmd: VelocityCmd, until: Callable[[], bool], timeout_s: float, what: str) -> None:
    def step() -> bool:
        base.send(cmd)
        return until()

    wait_for(step, timeout_s, what)


def test_velocity_commands_move_the_robot_in_the_commanded_direction(driver) -> None:
    base, rec = driver
    drive(base, VelocityCmd(0.5, 0.0), lambda: rec.get(Odometry).x_m > 1.0, 10.0, "x > 1 m")
    odom = rec.get(Odometry)
    assert abs(odom.y_m) < 0.05 and abs(odom.yaw_rad) < 0.05
    assert odom.linear_mps == pytest.approx(0.5, abs=0.05)  # reported in simulated units
    drive(base, VelocityCmd(0.0, 1.0), lambda: rec.get(Odometry).yaw_rad > 0.5, 10.0, "yaw > 0.5")
    drive(base, VelocityCmd(0.0, 0.0), lambda: rec.get(Odometry).angular_radps == 0.0, 5.0, "stop")


def test_heartbeat_loss_stops_the_robot(driver) -> None:
    base, rec = driver
    drive(base, VelocityCmd(0.5, 0.0), lambda: rec.get(Odometry).linear_mps > 0.3, 5.0, "moving")
    base.set_heartbeat_enabled(False)  # and no more velocity commands: the line goes quiet
    wait_for(lambda: (s := rec.get(Status)) is not None and not s.heartbeat_ok, 3.0, "Status.heartbeat_ok false")
    wait_for(lambda: rec.get(Odometry).linear_mps == 0.0, 3.0, "zero velocity")
    x_stopped = rec.get(Odometry).x_m
    seen = rec.n(Odometry)
    wait_for(lambda: rec.n(Odometry) >= seen + 5, 3.0, "more odometry")
    assert rec.get(Odometry).x_m == pytest.approx(x_stopped)
    base.set_heartbeat_enabled(True)
    wait_for(lambda: rec.get(Status).heartbeat_ok, 3.0, "watchdog recovers on heartbeat")
    assert rec.get(Odometry).linear_mps == 0.0  # a stale set-point does not resume on its own


def test_a_motion_command_not_renewed_stops_the_base_while_heartbeats_go_on(link: Path, firmware) -> None:
    # What keeps a robot from driving on when its controller stalls: the link itself lets the last
    # command expire, although heartbeats still say the host is alive.
    rec = Recorder()
    base = SerialMotorBase(str(link), rec, motion_timeout_s=0.3).start()
    try:
        wait_for(lambda: rec.get(Odometry), 10.0, "first odometry frame")
        base.send(VelocityCmd(0.5, 0.2))  # once, never renewed
        wait_for(lambda: rec.get(Odometry).linear_mps > 0.3, 3.0, "moving on the single command")
        wait_for(
            lambda: rec.get(Odometry).linear_mps == 0.0 and rec.get(Odometry).angular_radps == 0.0,
            3.0,
            "stopped after the command expired",
        )
        stopped_x = rec.get(Odometry).x_m
        seen = rec.n(Odometry)
        wait_for(lambda: rec.n(Odometry) >= seen + 5, 3.0, "more odometry")
        assert rec.get(Odometry).x_m == pytest.approx(stopped_x)
        assert rec.get(Status).heartbeat_ok, "heartbeats continued: it was the command that expired"
    finally:
        base.close()


def test_lock_command_changes_lock_state(driver) -> None:
    base, rec = driver
    wait_for(lambda: rec.get(LockState), 3.0, "first LockState")
    assert rec.get(LockState).locked == (True, True, True, True)  # boots locked
    assert base.send(LockCmd(2, False))
    wait_for(lambda: rec.get(LockState).locked == (True, False, True, True), 3.0, "unlocked #2")


def test_estop_stops_and_ignores_velocity_until_reset(driver) -> None:
    base, rec = driver
    drive(base, VelocityCmd(1.0, 0.0), lambda: rec.get(Odometry).linear_mps > 0.5, 5.0, "moving")
    assert base.send(EstopCmd(True))
    drive(base, VelocityCmd(1.0, 0.0), lambda: rec.get(Status).estop, 3.0, "estop status")
    drive(base, VelocityCmd(1.0, 0.0), lambda: rec.get(Odometry).linear_mps == 0.0, 3.0, "stopped")
    assert base.send(EstopCmd(False))
    drive(base, VelocityCmd(1.0, 0.0), lambda: rec.get(Odometry).linear_mps > 0.5, 5.0, "resumed")
    assert not rec.get(Status).estop


@pytest.mark.parametrize("kill_signal", [signal.SIGKILL, signal.SIGTERM])
def test_driver_reconnects_after_firmware_restart(link: Path, kill_signal: int) -> None:
    rec = Recorder()
    base = SerialMotorBase(str(link), rec, backoff_max_s=0.5).start()
    procs = [start_firmware(link)]
    try:
        wait_for(lambda: rec.n(Odometry) > 0 and base.connected, 10.0, "first connection")
        stop_process(procs[0], kill_signal)
        wait_for(lambda: not base.stats()["connected"], 5.0, "driver notices the loss")
        if kill_signal == signal.SIGTERM:
            assert not link.exists() and not link.is_symlink()  # clean exit removes its link
        seen = rec.n(Odometry)
        procs.append(start_firmware(link))
        wait_for(lambda: rec.n(Odometry) > seen + 3, 10.0, "odometry after restart")
        stats = base.stats()
        assert stats["connected"] and stats["reconnects"] >= 1
        assert rec.get(Odometry).x_m == 0.0  # a fresh board starts at the odom origin
    finally:
        base.close()
        for proc in procs:
            stop_process(proc)


def test_garbage_and_corruption_are_counted_while_good_frames_arrive() -> None:
    master_fd, slave_fd = os.openpty()
    tty.setraw(slave_fd)
    rec = Recorder()
    base = SerialMotorBase(os.ttyname(slave_fd), rec, silent_after_s=0.3)
    try:
        base.start()
        wait_for(lambda: base.connected, 5.0, "driver opens the pty")
        wait_for(lambda: base.stats()["silent_periods"] >= 1, 3.0, "silent line reported")
        assert base.stats()["silent"]
        good = encode(Status(False, False, True))
        corrupt = bytearray(encode(Odometry(1.0, 2.0, 0.0, 0.0, 0.0, 7)))
        corrupt[6] ^= 0xFF
        noise = b"\x01\x02\x03\xaa"  # includes a false start byte
        os.write(master_fd, noise + good + bytes(corrupt) + encode(LockState((False,))) + b"zz" + encode(Heartbeat(5)))
        wait_for(lambda: rec.get(Heartbeat), 3.0, "last good frame")
        stats = base.stats()
        assert rec.get(Status) == Status(False, False, True)
        assert rec.get(LockState) == LockState((False,))
        assert rec.get(Odometry) is None
        assert stats["frames_ok"] == 3 and stats["crc_errors"] >= 1
        assert stats["garbage_bytes"] >= 5
        assert not stats["silent"]
        readable, _, _ = select.select([master_fd], [], [], 2.0)
        assert readable and os.read(master_fd, 4096)  # the driver keeps sending heartbeats
    finally:
        base.close()
        os.close(master_fd)
        os.close(slave_fd)


def test_long_silent_line_is_reopened() -> None:
    master_fd, slave_fd = os.openpty()
    tty.setraw(slave_fd)
    base = SerialMotorBase(os.ttyname(slave_fd), silent_after_s=0.2, reopen_after_silent_s=0.5)
    try:
        base.start()
        wait_for(lambda: base.stats()["reconnects"] >= 1, 5.0, "reopen of a silent line")
        wait_for(lambda: base.connected, 3.0, "port open again")
        assert base.stats()["silent_periods"] >= 1
    finally:
        base.close()
        os.close(master_fd)
        os.close(slave_fd)
