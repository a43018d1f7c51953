"""The elevator simulator process over a real Mosquitto broker at 127.0.0.1:1883."""

from __future__ import annotations

import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hallfleet.protocol.elevator import ElevatorRequest, ElevatorStatus, request_topic, state_topic

pytestmark = pytest.mark.integration

paho = pytest.importorskip("paho.mqtt.client")

BROKER = ("127.0.0.1", 1883)
REPO = Path(__file__).resolve().parents[2]


def _broker_reachable() -> bool:
    try:
        with socket.create_connection(BROKER, timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def broker() -> None:
    if not _broker_reachable():
        pytest.skip("Mosquitto not reachable at 127.0.0.1:1883 (install and start `mosquitto`)")


class StateWatcher:
    """A paho client collecting one elevator's state messages."""

    def __init__(self, elevator_id: str) -> None:
        self.elevator_id = elevator_id
        self.states: queue.Queue[ElevatorStatus] = queue.Queue()
        self.subscribed = queue.Queue()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"test-elev-{secrets.token_hex(4)}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(state_topic(elevator_id), qos=0)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subscribed.put(True)
        self.client.on_message = self._on_message

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == state_topic(self.elevator_id):
            self.states.put(ElevatorStatus.from_json(msg.payload, source=msg.topic))

    def __enter__(self) -> StateWatcher:
        self.client.connect(*BROKER)
        self.client.loop_start()
        self.subscribed.get(timeout=5.0)
        return self

    def __exit__(self, *exc) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def send(self, payload: str | bytes) -> None:
        self.client.publish(request_topic(self.elevator_id), payload, qos=1).wait_for_publish(timeout=5.0)

    def wait_for(self, predicate, timeout_s: float) -> ElevatorStatus:
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching state for {self.elevator_id} within {timeout_s} s; last {last}")
            try:
                last = self.states.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(last):
                return last


@pytest.fixture()
def sim(broker) -> Iterator[tuple[str, subprocess.Popen]]:
    elevator_id = f"T{secrets.token_hex(4)}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hallfleet_apps.sim.elevator",
            "--mqtt-url",
            "mqtt://127.0.0.1:1883",
            "--elevator",
            f"{elevator_id}:1,2,3,4",
            "--time-scale",
            "20",
            "--door-time-s",
            "3",
            "--travel-time-per-floor-s",
            "4",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield elevator_id, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


def test_call_brings_car_to_level_3_with_door_open(sim) -> None:
    elevator_id, proc = sim
    with StateWatcher(elevator_id) as watcher:
        # Periodic state proves the simulator is up and subscribed-to topics exist.
        first = watcher.wait_for(lambda s: True, timeout_s=15.0)
        assert first.level == 1 and first.door == "closed"
        watcher.send(ElevatorRequest("r1", "call", "robot-7", level=3).to_json())
        moving = watcher.wait_for(lambda s: s.moving, timeout_s=10.0)
        assert moving.direction == "up" and moving.held_by == "robot-7"
        # 2 floors x 4 s + 3 s door = 11 simulated s = 0.55 wall s at time scale 20
        arrived = watcher.wait_for(lambda s: s.level == 3 and s.door == "open", timeout_s=15.0)
        assert arrived.held_by == "robot-7" and not arrived.moving

    # SIGTERM ends it cleanly.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_garbage_payload_is_logged_and_sim_keeps_running(sim) -> None:
    elevator_id, proc = sim
    with StateWatcher(elevator_id) as watcher:
        watcher.wait_for(lambda s: True, timeout_s=15.0)
        watcher.send(b"\x00garbage{")
        watcher.send('{"requestId": "bad", "command": "call", "level": "three", "robotId": "R1"}')
        watcher.send(ElevatorRequest("r2", "call", "R1", level=2).to_json())
        arrived = watcher.wait_for(lambda s: s.level == 2 and s.door == "open", timeout_s=15.0)
        assert arrived.last_request is not None and arrived.last_request.request_id == "r2"
        assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"hallfleet/elevators/{elevator_id}/request" in output
    assert "field 'level': expected int" in output
    assert "invalid JSON" in output
