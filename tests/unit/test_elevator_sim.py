"""SimElevator state machine and the elevator protocol messages (pure, no broker)."""

from __future__ import annotations

import json

import pytest

from hallfleet.protocol.elevator import (
    ElevatorMessageError,
    ElevatorRequest,
    ElevatorStatus,
    parse_topic,
    request_topic,
    state_topic,
)
from hallfleet_apps.sim.elevator import SimElevator, parse_elevator_spec

DOOR_S = 2.0
FLOOR_S = 3.0


def make_car(level: int = 1) -> SimElevator:
    return SimElevator("E1", [1, 2, 3, 4], initial_level=level, door_time_s=DOOR_S, travel_time_per_floor_s=FLOOR_S)


def run_until(car: SimElevator, predicate, limit_s: float = 120.0, dt_s: float = 0.25) -> float:
    """Step simulated time until predicate(status) holds; return the simulated seconds taken."""
    t = 0.0
    while not predicate(car.status()):
        assert t < limit_s, f"condition not reached within {limit_s} simulated s; status {car.status()}"
        car.step(dt_s)
        t += dt_s
    return t


def call(level: int, robot: str = "R1", rid: str = "q1") -> ElevatorRequest:
    return ElevatorRequest(request_id=rid, command="call", robot_id=robot, level=level)


def test_call_to_other_level_closes_travels_opens_and_holds() -> None:
    car = make_car(level=1)
    assert car.handle(call(3)).accepted
    seen_moving_up = []
    t = 0.0
    while not (car.status().level == 3 and car.status().door == "open"):
        car.step(0.25)
        t += 0.25
        s = car.status()
        if s.moving:
            seen_moving_up.append((s.direction, s.door))
        assert t < 60
    assert seen_moving_up and all(d == ("up", "closed") for d in seen_moving_up)
    # 2 floors plus door opening, nothing faster than physics allows
    assert t >= 2 * FLOOR_S + DOOR_S
    # Held open: a long time later the door is still open for R1.
    car.step(300.0)
    status = car.status()
    assert (status.level, status.door, status.held_by, status.moving) == (3, "open", "R1", False)


def test_ride_second_call_from_same_robot_closes_and_moves_then_release_closes() -> None:
    car = make_car(level=1)
    car.handle(call(1, rid="board"))
    run_until(car, lambda s: s.door == "open")
    assert car.status().level == 1
    assert car.handle(call(4, rid="ride")).accepted
    car.step(0.1)
    assert car.status().door == "closing"
    run_until(car, lambda s: s.level == 4 and s.door == "open")
    release = ElevatorRequest(request_id="done", command="release", robot_id="R1")
    assert car.handle(release).accepted
    run_until(car, lambda s: s.door == "closed")
    status = car.status()
    assert status.held_by is None and status.level == 4 and not status.moving
    car.step(100.0)
    assert car.status().door == "closed"


def test_other_robot_is_rejected_while_car_is_held() -> None:
    car = make_car()
    car.handle(call(2, robot="R1"))
    verdict = car.handle(call(3, robot="R2", rid="q2"))
    assert not verdict.accepted
    assert "held by R1" in (verdict.reason or "")
    assert car.status().last_request is not None and car.status().last_request.accepted is False


def test_unserved_level_is_rejected_with_levels_named() -> None:
    car = make_car()
    verdict = car.handle(call(7))
    assert not verdict.accepted
    assert "level 7 not served" in (verdict.reason or "") and "1,2,3,4" in (verdict.reason or "")
    car.step(30.0)
    assert car.status().door == "closed" and car.status().level == 1


def test_hold_opens_door_at_current_level() -> None:
    car = make_car(level=2)
    assert car.handle(ElevatorRequest("h1", "hold", "R1")).accepted
    run_until(car, lambda s: s.door == "open")
    assert car.status().level == 2 and car.status().held_by == "R1"


def test_fault_rejects_requests() -> None:
    car = make_car()
    car.set_fault("door sensor")
    verdict = car.handle(call(2))
    assert not verdict.accepted and "door sensor" in (verdict.reason or "")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"requestId": "a", "command": "call", "level": "3", "robotId": "R1"}', "field 'level': expected int"),
        ('{"requestId": "a", "command": "call", "level": true, "robotId": "R1"}', "field 'level': expected int"),
        ('{"requestId": "a", "command": "call", "robotId": "R1"}', "field 'level': missing"),
        ('{"requestId": "a", "command": "fly", "level": 3, "robotId": "R1"}', "field 'command'"),
        ('{"command": "call", "level": 3, "robotId": "R1"}', "field 'requestId': missing"),
        ("[1, 2]", "expected a JSON object"),
        ("not json", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_malformed_request_names_topic_and_field(payload: str | bytes, message: str) -> None:
    topic = request_topic("E1")
    with pytest.raises(ElevatorMessageError) as info:
        ElevatorRequest.from_json(payload, source=topic)
    text = str(info.value)
    assert text.startswith("hallfleet/elevators/E1/request: ")
    assert message in text


def test_messages_round_trip_and_topics() -> None:
    request = call(3)
    assert ElevatorRequest.from_json(request.to_json()) == request
    assert json.loads(request.to_json()) == {"requestId": "q1", "command": "call", "level": 3, "robotId": "R1"}
    release = ElevatorRequest.from_json('{"requestId": "x", "command": "release", "robotId": "R1"}')
    assert release.level is None
    status = make_car().status()
    assert ElevatorStatus.from_json(status.to_json()) == status
    assert json.loads(status.to_json())["door"] == "closed"
    assert state_topic("E2") == "hallfleet/elevators/E2/state"
    assert parse_topic("hallfleet/elevators/E2/request") == ("E2", "request")
    with pytest.raises(ValueError):
        request_topic("E/1")


def test_elevator_spec_parsing() -> None:
    assert parse_elevator_spec("E1:1,2,3,4") == ("E1", [1, 2, 3, 4])
    with pytest.raises(Exception, match="ID:LEVEL"):
        parse_elevator_spec("E1")
