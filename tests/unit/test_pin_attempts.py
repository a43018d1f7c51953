"""Wrong PINs in a row at a compartment, read from the robot's own refusals."""

from __future__ import annotations

import pytest

from fleet_api.domain.pin_attempts import WRONG_PINS_TO_BLOCK, PinAttempts, Refusal, classify, says_now_blocked
from hallfleet.protocol.pins import hash_pin
from robots.core.compartments import MAX_FAILED_PINS, CompartmentBank, CompartmentError, HandoverKind


def robot_refusals(wrong_pins: int) -> list[str]:
    """What the robot's compartment logic answers to ``wrong_pins`` wrong PINs and one more right one."""
    bank = CompartmentBank(2)
    bank.prepare(1, "D-1", HandoverKind.LOAD, hash_pin("123456"))
    answers = []
    for pin in ["000000"] * wrong_pins + ["123456"]:
        try:
            bank.unlock(1, pin)
            answers.append("open")
        except CompartmentError as exc:
            answers.append(str(exc))
    return answers


def test_the_fleet_blocks_where_the_robot_blocks() -> None:
    assert WRONG_PINS_TO_BLOCK == MAX_FAILED_PINS


def test_the_robots_own_messages_are_read_right() -> None:
    answers = robot_refusals(MAX_FAILED_PINS)
    assert [classify(a) for a in answers[:MAX_FAILED_PINS]] == [Refusal.WRONG_PIN] * MAX_FAILED_PINS
    assert [says_now_blocked(a) for a in answers[:MAX_FAILED_PINS]] == [False] * (MAX_FAILED_PINS - 1) + [True]
    assert classify(answers[-1]) is Refusal.BLOCKED, answers[-1]  # the right PIN, too late
    assert classify("compartment 1 is not expecting a hand-over here") is Refusal.OTHER


def test_the_fifth_wrong_pin_in_a_row_alerts_once() -> None:
    attempts = PinAttempts()
    seen = [attempts.wrong("dr1", 1) for _ in range(WRONG_PINS_TO_BLOCK + 2)]
    assert [w.in_a_row for w in seen] == list(range(1, WRONG_PINS_TO_BLOCK + 3))
    assert [w.alert for w in seen] == [False] * (WRONG_PINS_TO_BLOCK - 1) + [True, False, False]


def test_compartments_and_robots_count_apart_and_an_opening_starts_again() -> None:
    attempts = PinAttempts()
    for _ in range(4):
        attempts.wrong("dr1", 1)
    assert attempts.wrong("dr1", 2).in_a_row == 1 and attempts.wrong("dr2", 1).in_a_row == 1
    attempts.opened("dr1", 1)
    assert attempts.wrong("dr1", 1) == attempts.wrong("dr9", 9)


@pytest.mark.parametrize("said_blocked_at", [1, 3])
def test_the_robot_saying_blocked_alerts_even_if_the_fleet_missed_earlier_attempts(said_blocked_at: int) -> None:
    attempts = PinAttempts()
    for _ in range(said_blocked_at - 1):
        assert not attempts.wrong("dr1", 1).alert
    assert attempts.wrong("dr1", 1, robot_says_blocked=True).alert
