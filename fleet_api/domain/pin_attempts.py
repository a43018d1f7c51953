"""Wrong PINs at a robot's compartment: counted in a row, the fifth raises a technician alert.

The robot is the authority (it checks the PIN hash and blocks the compartment after its own
MAX_FAILED_PINS); the fleet counts the refusals it relays so that every one lands in the custody log
and the block reaches a technician once. Pure logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

WRONG_PINS_TO_BLOCK = 5  # the robot's MAX_FAILED_PINS (robots/core/compartments.py)


class Refusal(StrEnum):
    WRONG_PIN = "wrong_pin"  # the PIN did not match
    BLOCKED = "blocked"  # the compartment is blocked already: the PIN was not even checked
    OTHER = "other"  # e.g. no hand-over expected here


def classify(robot_message: str) -> Refusal:
    """What the robot's refusal text says (robots/core/compartments.py CompartmentBank.unlock)."""
    text = robot_message.lower()
    if says_now_blocked(text):  # the wrong PIN that blocked it
        return Refusal.WRONG_PIN
    if "blocked" in text:  # "... is blocked after 5 wrong PINs": not checked at all
        return Refusal.BLOCKED
    if "wrong pin" in text:
        return Refusal.WRONG_PIN
    return Refusal.OTHER


def says_now_blocked(robot_message: str) -> bool:
    return "now blocked" in robot_message.lower()


@dataclass(frozen=True)
class WrongPin:
    in_a_row: int  # wrong PINs at this compartment since its last opening
    alert: bool  # this one blocks the compartment: tell the technicians (once per block)


@dataclass
class PinAttempts:
    """Wrong PINs in a row per (robot, compartment)."""

    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    alerted: set[tuple[str, int]] = field(default_factory=set)

    def wrong(self, robot_id: str, compartment_id: int, *, robot_says_blocked: bool = False) -> WrongPin:
        key = (robot_id, compartment_id)
        self.counts[key] = self.counts.get(key, 0) + 1
        blocking = self.counts[key] >= WRONG_PINS_TO_BLOCK or robot_says_blocked
        alert = blocking and key not in self.alerted
        if alert:
            self.alerted.add(key)
        return WrongPin(self.counts[key], alert)

    def opened(self, robot_id: str, compartment_id: int) -> None:
        """A right PIN (or a technician's reset) starts the count again."""
        self.counts.pop((robot_id, compartment_id), None)
        self.alerted.discard((robot_id, compartment_id))
