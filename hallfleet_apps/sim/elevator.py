"""Simulated elevator controller: a pure state machine plus a small MQTT runner.

Core: SimElevator.step(dt_s) advances door and car; handle(request) accepts or rejects a request.
Runner: `python -m hallfleet_apps.sim.elevator --mqtt-url mqtt://127.0.0.1:1883 --elevator E1:1,2,3,4`
subscribes to each elevator's request topic and publishes its state on every change and every 1 s.
Time-scale N: simulated seconds pass N times faster than wall seconds (the tests use 20).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from hallfleet.protocol.elevator import (
    STATE_PERIOD_S,
    ElevatorMessageError,
    ElevatorRequest,
    ElevatorStatus,
    RequestOutcome,
    parse_topic,
    request_topic,
    state_topic,
    utc_now_iso,
)

log = logging.getLogger("hallfleet_apps.sim.elevator")


@dataclass(frozen=True)
class Verdict:
    """Result of SimElevator.handle: accepted, or rejected with a reason naming what is wrong."""

    accepted: bool
    reason: str | None = None


class SimElevator:
    """One car. Door: closed -> opening -> open -> closing -> closed; the car moves only when closed.

    The door stays open while a robot holds it (after "call" arrives or "hold"); "release" or the
    same robot's next "call" to another level closes it.
    """

    def __init__(
        self,
        elevator_id: str,
        levels: Sequence[int],
        *,
        initial_level: int | None = None,
        door_time_s: float = 3.0,
        travel_time_per_floor_s: float = 4.0,
    ) -> None:
        if not levels:
            raise ValueError(f"elevator {elevator_id}: needs at least one level")
        if door_time_s <= 0 or travel_time_per_floor_s <= 0:
            raise ValueError(f"elevator {elevator_id}: door_time_s and travel_time_per_floor_s must be > 0")
        self.elevator_id = elevator_id
        self.levels = tuple(sorted(set(levels)))
        self.door_time_s = door_time_s
        self.travel_time_per_floor_s = travel_time_per_floor_s
        self.level = self.levels[0] if initial_level is None else initial_level
        if self.level not in self.levels:
            raise ValueError(f"elevator {elevator_id}: initial level {self.level} not in {self.levels}")
        self.door = "closed"
        self.held_by: str | None = None
        self.target_level: int | None = None
        self.fault: str | None = None
        self.last_request: RequestOutcome | None = None
        self._position = float(self.level)  # fractional level while travelling
        self._door_progress_s = 0.0
        self._open_at_target = False

    # ---- queries -----------------------------------------------------------------------------

    @property
    def moving(self) -> bool:
        return self.target_level is not None and self.door == "closed" and self._position != self.target_level

    @property
    def direction(self) -> str:
        if not self.moving or self.target_level is None:
            return "none"
        return "up" if self.target_level > self._position else "down"

    def status(self, timestamp: str = "") -> ElevatorStatus:
        return ElevatorStatus(
            elevator_id=self.elevator_id,
            level=self.level,
            door=self.door,
            moving=self.moving,
            direction=self.direction,
            held_by=self.held_by,
            target_level=self.target_level,
            fault=self.fault,
            timestamp=timestamp or utc_now_iso(),
            last_request=self.last_request,
        )

    # ---- requests ----------------------------------------------------------------------------

    def handle(self, request: ElevatorRequest) -> Verdict:
        verdict = self._handle(request)
        self.last_request = RequestOutcome(request.request_id, verdict.accepted, verdict.reason)
        return verdict

    def _reject(self, request: ElevatorRequest, why: str) -> Verdict:
        return Verdict(False, f"elevator {self.elevator_id}: {request.command} {request.request_id!r} rejected: {why}")

    def _handle(self, request: ElevatorRequest) -> Verdict:
        if self.fault:
            return self._reject(request, f"fault {self.fault!r}")
        if self.held_by is not None and self.held_by != request.robot_id:
            return self._reject(request, f"held by {self.held_by}")
        if request.command == "call":
            assert request.level is not None
            if request.level not in self.levels:
                served = ",".join(str(v) for v in self.levels)
                return self._reject(request, f"level {request.level} not served (levels {served})")
            self.held_by = request.robot_id
            self.target_level = request.level
            self._open_at_target = True
            at_level = request.level == self.level and self._position == request.level
            if not at_level:
                if self.door in ("open", "opening"):
                    self._start_closing()
            elif self.door == "open":
                self.target_level = None  # already there with the door open: just hold it
            elif self.door == "closing":
                self._start_opening()
            return Verdict(True)
        if request.command == "hold":
            if self.moving:
                return self._reject(request, "car is moving")
            self.held_by = request.robot_id
            self._open_at_target = True
            if self.door == "closing":
                self._start_opening()
            elif self.door == "closed":
                self.target_level = self.level  # opens on the next step
            return Verdict(True)
        # release: idempotent when nobody holds the car
        self.held_by = None
        self._open_at_target = False
        if not self.moving:
            self.target_level = None
            if self.door in ("open", "opening"):
                self._start_closing()
        return Verdict(True)

    def set_fault(self, fault: str | None) -> None:
        """Inject (or clear) a fault: the car stops accepting requests."""
        self.fault = fault

    # ---- time --------------------------------------------------------------------------------

    def _start_opening(self) -> None:
        # Reversing a half-closed door takes only the time it has already travelled.
        done = self._door_progress_s if self.door == "closing" else 0.0
        self.door = "opening"
        self._door_progress_s = self.door_time_s - done if done else 0.0

    def _start_closing(self) -> None:
        done = self._door_progress_s if self.door == "opening" else 0.0
        self.door = "closing"
        self._door_progress_s = self.door_time_s - done if done else 0.0

    def step(self, dt_s: float) -> bool:
        """Advance simulated time by dt_s; True if anything visible in status() changed."""
        before = self._visible()
        remaining = dt_s
        for _ in range(1000):  # each iteration completes a phase or consumes all time
            if remaining <= 0:
                break
            remaining = self._advance(remaining)
        return self._visible() != before

    def _visible(self) -> tuple[Any, ...]:
        return (self.level, self.door, self.moving, self.direction, self.held_by, self.target_level, self.fault)

    def _advance(self, dt_s: float) -> float:
        """Progress the current phase; return the unused time (0 when idle or mid-phase)."""
        if self.door in ("opening", "closing"):
            need = self.door_time_s - self._door_progress_s
            if dt_s < need:
                self._door_progress_s += dt_s
                return 0.0
            self._door_progress_s = 0.0
            self.door = "open" if self.door == "opening" else "closed"
            if self.door == "open":
                if self.target_level == self.level:
                    self.target_level = None  # arrived: the door now stays open while held
                if self.held_by is None:
                    # Nobody holds it (released while opening): close again.
                    self._start_closing()
            return dt_s - need
        if self.door == "closed" and self.target_level is not None:
            if self._position == self.target_level:
                if self._open_at_target:
                    self._start_opening()
                    return dt_s
                self.target_level = None
                return 0.0
            sign = 1.0 if self.target_level > self._position else -1.0
            distance = abs(self.target_level - self._position)
            step_floors = dt_s / self.travel_time_per_floor_s
            if step_floors < distance:
                self._position += sign * step_floors
                # Displayed level is the last level passed (rounded towards the origin).
                passed = math.floor(self._position) if sign > 0 else math.ceil(self._position)
                self.level = passed if passed in self.levels else self.level
                return 0.0
            self._position = float(self.target_level)
            self.level = self.target_level
            return dt_s - distance * self.travel_time_per_floor_s
        return 0.0


# ---- MQTT runner -------------------------------------------------------------------------------


def parse_elevator_spec(spec: str) -> tuple[str, list[int]]:
    """'E1:1,2,3,4' -> ('E1', [1, 2, 3, 4])."""
    name, sep, levels = spec.partition(":")
    try:
        parsed = [int(v) for v in levels.split(",") if v.strip()]
    except ValueError:
        parsed = []
    if not sep or not name or not parsed:
        raise argparse.ArgumentTypeError(f"--elevator {spec!r}: expected ID:LEVEL,LEVEL,... like E1:1,2,3,4")
    request_topic(name)  # validates the id
    return name, parsed


class MqttElevatorRunner:
    """Drives SimElevators in wall time and bridges them to MQTT (paho-mqtt 2.x)."""

    def __init__(
        self, elevators: Sequence[SimElevator], mqtt_url: str, *, time_scale: float = 1.0, tick_s: float = 0.05
    ) -> None:
        import paho.mqtt.client as mqtt  # adapter-only dependency

        self._mqtt = mqtt
        self.elevators = {e.elevator_id: e for e in elevators}
        self.time_scale = time_scale
        self.tick_s = tick_s
        url = urlparse(mqtt_url)
        if url.scheme not in ("mqtt", "tcp", ""):
            raise ValueError(f"--mqtt-url {mqtt_url!r}: only mqtt://host:port is supported")
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 1883
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_published: dict[str, tuple[Any, ...]] = {}
        client_id = "hallfleet-sim-elevator-" + "-".join(self.elevators)[:40] + f"-{os.getpid()}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_socket_open = self._on_socket_open

    def _on_socket_open(self, client: Any, userdata: Any, sock: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:  # not a TCP socket (e.g. websockets wrapper)
            log.debug("TCP_NODELAY not set: %s", exc)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.error("MQTT connect to %s:%s refused: %s", self.host, self.port, reason_code)
            return
        log.info("connected to MQTT %s:%s", self.host, self.port)
        client.subscribe([(request_topic(eid), 1) for eid in self.elevators])
        with self._lock:
            self._last_published.clear()  # republish everything after a reconnect

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            elevator_id, _ = parse_topic(msg.topic)
            request = ElevatorRequest.from_json(msg.payload, source=msg.topic)
        except (ElevatorMessageError, ValueError) as exc:
            log.warning("ignored request on %s: %s", msg.topic, exc)
            return
        elevator = self.elevators.get(elevator_id)
        if elevator is None:
            log.warning("ignored request on %s: unknown elevator %r", msg.topic, elevator_id)
            return
        with self._lock:
            verdict = elevator.handle(request)
            self._publish(elevator, force=True)
        if verdict.accepted:
            log.info("%s: %s accepted", msg.topic, request.to_json())
        else:
            log.warning("%s: %s", msg.topic, verdict.reason)

    def _publish(self, elevator: SimElevator, *, force: bool = False) -> None:
        """Publish state if it changed (or force). Caller holds the lock."""
        status = elevator.status()
        key = (*elevator._visible(), elevator.last_request)
        if not force and self._last_published.get(elevator.elevator_id) == key:
            return
        self._last_published[elevator.elevator_id] = key
        if self.client.is_connected():
            self.client.publish(state_topic(elevator.elevator_id), status.to_json(), qos=0)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        last_wall = time.monotonic()
        next_periodic = last_wall + STATE_PERIOD_S
        try:
            while not self._stop.wait(self.tick_s):
                now = time.monotonic()
                dt_sim_s = (now - last_wall) * self.time_scale
                last_wall = now
                periodic = now >= next_periodic
                if periodic:
                    next_periodic = now + STATE_PERIOD_S
                with self._lock:
                    for elevator in self.elevators.values():
                        elevator.step(dt_sim_s)
                        self._publish(elevator, force=periodic)
        finally:
            self.client.disconnect()
            self.client.loop_stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hallfleet_apps.sim.elevator", description=__doc__.splitlines()[0])
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument(
        "--elevator",
        action="append",
        type=parse_elevator_spec,
        required=True,
        help="ID:LEVELS, e.g. E1:1,2,3,4 (repeatable)",
    )
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--door-time-s", type=float, default=3.0)
    parser.add_argument("--travel-time-per-floor-s", type=float, default=4.0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    elevators = [
        SimElevator(eid, levels, door_time_s=args.door_time_s, travel_time_per_floor_s=args.travel_time_per_floor_s)
        for eid, levels in args.elevator
    ]
    runner = MqttElevatorRunner(elevators, args.mqtt_url, time_scale=args.time_scale)

    def _on_signal(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        runner.stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    log.info(
        "elevator simulator: %s via %s, time scale %g",
        ", ".join(f"{e.elevator_id}{list(e.levels)}" for e in elevators),
        args.mqtt_url,
        args.time_scale,
    )
    runner.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
