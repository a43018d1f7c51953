"""Emergency stop and charging against the simulated firmware over a real pty."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from robots.core.base_protocol import Battery, ChargeCmd, EstopCmd, Odometry, Status, VelocityCmd
from robots.drivers.serial_base import SerialMotorBase

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_serial_pty import Recorder, drive, start_firmware, stop_process, wait_for  # noqa: E402

pytestmark = pytest.mark.integration


class EstopOnNextOdometry(Recorder):
    """Records every odometry frame; once armed, sends EstopCmd right after an odometry frame arrives,
    so the firmware's following frame is the first one produced after the stop (nothing in flight)."""

    def __init__(self) -> None:
        super().__init__()
        self.base: SerialMotorBase | None = None
        self.armed = threading.Event()
        self.odometry_after_stop: list[Odometry] = []
        self._sent = False

    def __call__(self, msg: object) -> None:
        super().__call__(msg)
        if not isinstance(msg, Odometry):
            return
        with self.lock:
            if self._sent:
                self.odometry_after_stop.append(msg)
            elif self.armed.is_set() and self.base is not None:
                self._sent = self.base.send(EstopCmd(engage=True))

    def after_stop(self) -> list[Odometry]:
        with self.lock:
            return list(self.odometry_after_stop)


def _start(link: Path, recorder: Recorder, *extra: str) -> tuple[subprocess.Popen, SerialMotorBase]:
    proc = start_firmware(link, *extra)
    base = SerialMotorBase(str(link), recorder).start()
    wait_for(lambda: recorder.get(Odometry), 10.0, "first odometry frame")
    return proc, base


@pytest.fixture
def started(tmp_path: Path, request) -> Iterator[tuple[subprocess.Popen, SerialMotorBase, Recorder]]:
    recorder = request.param()
    proc = base = None
    try:
        proc, base = _start(tmp_path / "base", recorder, "--time-scale", "200", "--battery", "0.5")
        yield proc, base, recorder
    finally:
        if base is not None:
            base.close()
        if proc is not None:
            stop_process(proc)


@pytest.mark.parametrize("started", [EstopOnNextOdometry], indirect=True)
def test_estop_cmd_stops_the_base_by_the_next_odometry_frame(started) -> None:
    _proc, base, rec = started
    drive(base, VelocityCmd(0.8, 0.0), lambda: rec.get(Odometry).linear_mps > 0.5, 5.0, "moving at 0.8 m/s")
    rec.base = base
    rec.armed.set()
    frames = wait_for(lambda: (f := rec.after_stop()) and len(f) >= 5 and f, 5.0, "odometry after the e-stop")
    assert frames[0].linear_mps == 0.0 and frames[0].angular_radps == 0.0, "the very next frame shows the stop"
    assert all(f.x_m == pytest.approx(frames[0].x_m) for f in frames), "the robot does not creep on"
    wait_for(lambda: rec.get(Status) and rec.get(Status).estop, 3.0, "Status.estop")
    for _ in range(5):  # velocity commands are ignored while latched
        base.send(VelocityCmd(0.8, 0.0))
    seen = rec.n(Odometry)
    wait_for(lambda: rec.n(Odometry) >= seen + 5, 3.0, "more odometry")
    assert rec.get(Odometry).linear_mps == 0.0 and rec.get(Status).estop


@pytest.mark.parametrize("started", [Recorder], indirect=True)
def test_robot_button_latches_until_the_host_resets(started) -> None:
    proc, base, rec = started
    drive(base, VelocityCmd(0.5, 0.0), lambda: rec.get(Odometry).linear_mps > 0.3, 5.0, "moving")
    proc.send_signal(signal.SIGUSR2)  # the red button on the simulated robot
    wait_for(lambda: rec.get(Status).estop, 3.0, "Status.estop after the button")
    wait_for(lambda: rec.get(Odometry).linear_mps == 0.0, 3.0, "zero velocity after the button")
    x_stopped = rec.get(Odometry).x_m
    statuses = rec.n(Status)
    # commands keep coming and time passes: still latched, still not moving
    wait_for(lambda: base.send(VelocityCmd(0.5, 0.0)) and rec.n(Status) >= statuses + 3, 5.0, "three more Status")
    assert rec.get(Status).estop and rec.get(Odometry).x_m == pytest.approx(x_stopped)
    base.send(EstopCmd(engage=False))
    wait_for(lambda: not rec.get(Status).estop, 3.0, "Status.estop cleared by the host's reset")
    assert rec.get(Odometry).linear_mps == 0.0, "a reset does not resume the old set-point"
    drive(base, VelocityCmd(0.5, 0.0), lambda: rec.get(Odometry).x_m > x_stopped + 0.2, 5.0, "moving again")


@pytest.mark.parametrize("started", [Recorder], indirect=True)
def test_charge_cmd_charges_and_stops_charging(started) -> None:
    _proc, base, rec = started
    wait_for(lambda: rec.get(Battery), 3.0, "battery report")
    assert not rec.get(Battery).charging
    base.send(ChargeCmd(on=True))
    first = wait_for(lambda: (b := rec.get(Battery)) and b.charging and b, 3.0, "Battery.charging")
    wait_for(lambda: rec.get(Battery).percentage > first.percentage, 4.0, "battery percentage rising")
    base.send(ChargeCmd(on=False))
    wait_for(lambda: not rec.get(Battery).charging, 3.0, "Battery.charging false")


@pytest.mark.parametrize("started", [Recorder], indirect=True)
def test_bumper_hit_stops_the_wheels_until_released_and_commanded_again(started) -> None:
    proc, base, rec = started
    drive(base, VelocityCmd(0.5, 0.0), lambda: rec.get(Odometry).linear_mps > 0.3, 5.0, "moving")
    proc.send_signal(signal.SIGHUP)  # someone bumps into the simulated robot
    wait_for(lambda: rec.get(Status).bumper, 3.0, "Status.bumper after the bump")
    wait_for(lambda: rec.get(Odometry).linear_mps == 0.0, 3.0, "zero velocity after the bump")
    assert not rec.get(Status).estop, "a bump is not an e-stop: it releases by itself"
    wait_for(lambda: not rec.get(Status).bumper, 5.0, "the bumper released")
    assert rec.get(Odometry).linear_mps == 0.0, "the old set-point does not resume by itself"
    x_released = rec.get(Odometry).x_m
    drive(base, VelocityCmd(0.5, 0.0), lambda: rec.get(Odometry).x_m > x_released + 0.2, 5.0, "moving again")
