"""Locked document compartments: who may open which door, and when.

A compartment opens only for the PIN of the hand-over it was prepared for (the sender's at pickup,
the recipient's one-time PIN at the destination). Between those, no PIN opens it. Five wrong PINs
block it until a technician clears it. Pure logic: the node turns decisions into lock commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hallfleet.protocol.pins import verify_pin

MAX_FAILED_PINS = 5


class HandoverKind(StrEnum):
    LOAD = "load"
    UNLOAD = "unload"


class CompartmentError(ValueError):
    """A request the compartment refuses; the message is shown to the person at the robot."""


@dataclass
class Handover:
    delivery_id: str
    kind: HandoverKind
    pin_hash: str


@dataclass
class Compartment:
    compartment_id: int
    locked: bool = True
    occupied: bool = False
    delivery_id: str = ""
    failed_pin_attempts: int = 0
    blocked: bool = False
    handover: Handover | None = None
    opened_for: Handover | None = None


class CompartmentBank:
    """All compartments of one robot."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("a delivery robot needs at least one compartment")
        self.compartments = {i: Compartment(i) for i in range(1, count + 1)}

    def get(self, compartment_id: int) -> Compartment:
        try:
            return self.compartments[compartment_id]
        except KeyError:
            raise CompartmentError(
                f"compartment {compartment_id} does not exist (1..{len(self.compartments)})"
            ) from None

    def prepare(self, compartment_id: int, delivery_id: str, kind: HandoverKind, pin_hash: str) -> None:
        """Arm the compartment for the next hand-over (fleet order action)."""
        c = self.get(compartment_id)
        if kind == HandoverKind.LOAD and c.occupied and c.delivery_id != delivery_id:
            raise CompartmentError(f"compartment {compartment_id} already holds delivery {c.delivery_id}")
        if kind == HandoverKind.UNLOAD and c.delivery_id != delivery_id:
            raise CompartmentError(f"compartment {compartment_id} does not hold delivery {delivery_id}")
        c.handover = Handover(delivery_id, kind, pin_hash)

    def unlock(self, compartment_id: int, pin: str) -> Compartment:
        """Check the PIN; on success the door may open. Raises CompartmentError otherwise."""
        c = self.get(compartment_id)
        if c.blocked:
            raise CompartmentError(
                f"compartment {compartment_id} is blocked after {MAX_FAILED_PINS} wrong PINs; call a technician"
            )
        if c.handover is None:
            raise CompartmentError(f"compartment {compartment_id} is not expecting a hand-over here")
        if not verify_pin(pin, c.handover.pin_hash):
            c.failed_pin_attempts += 1
            if c.failed_pin_attempts >= MAX_FAILED_PINS:
                c.blocked = True
                raise CompartmentError(f"wrong PIN; compartment {compartment_id} is now blocked")
            left = MAX_FAILED_PINS - c.failed_pin_attempts
            raise CompartmentError(f"wrong PIN for compartment {compartment_id}; {left} attempts left")
        c.failed_pin_attempts = 0
        c.locked = False
        c.opened_for = c.handover
        return c

    def close(self, compartment_id: int, occupied: bool) -> Compartment:
        """The door is shut again; the hand-over it was opened for is complete."""
        c = self.get(compartment_id)
        if c.locked:
            raise CompartmentError(f"compartment {compartment_id} is already locked")
        c.locked = True
        c.occupied = occupied
        done = c.opened_for
        c.opened_for = None
        if done is not None:
            c.handover = None
            c.delivery_id = done.delivery_id if occupied else ""
        return c

    def clear_block(self, compartment_id: int) -> None:
        """Technician reset after too many wrong PINs."""
        c = self.get(compartment_id)
        c.blocked, c.failed_pin_attempts = False, 0

    def handover_done(self, compartment_id: int, delivery_id: str, kind: HandoverKind) -> bool:
        """True once the prepared hand-over has happened (door opened and locked again)."""
        c = self.get(compartment_id)
        if not c.locked or c.handover is not None:
            return False
        if kind == HandoverKind.LOAD:
            return c.occupied and c.delivery_id == delivery_id
        return not c.occupied
