"""CompartmentBank: only the prepared hand-over's PIN opens a door; five wrong PINs block it."""

from __future__ import annotations

import pytest

from hallfleet.protocol.pins import hash_pin
from robots.core.compartments import MAX_FAILED_PINS, CompartmentBank, CompartmentError, HandoverKind

SENDER_PIN = "123456"
RECIPIENT_PIN = "654321"


@pytest.fixture(scope="module")
def sender_hash() -> str:
    return hash_pin(SENDER_PIN, salt="s1")


@pytest.fixture(scope="module")
def recipient_hash() -> str:
    return hash_pin(RECIPIENT_PIN, salt="r1")


def test_correct_pin_opens_only_after_prepare(sender_hash: str) -> None:
    bank = CompartmentBank(2)
    with pytest.raises(CompartmentError, match="compartment 1 is not expecting a hand-over"):
        bank.unlock(1, SENDER_PIN)
    assert bank.get(1).locked
    bank.prepare(1, "D-1", HandoverKind.LOAD, sender_hash)
    opened = bank.unlock(1, SENDER_PIN)
    assert opened.locked is False
    assert bank.get(2).locked, "the other compartment stays shut"


def test_pin_of_one_compartment_does_not_open_another(sender_hash: str) -> None:
    bank = CompartmentBank(2)
    bank.prepare(1, "D-1", HandoverKind.LOAD, sender_hash)
    with pytest.raises(CompartmentError, match="compartment 2"):
        bank.unlock(2, SENDER_PIN)
    assert bank.get(2).locked


def test_wrong_pins_count_down_and_the_fifth_blocks(sender_hash: str) -> None:
    bank = CompartmentBank(1)
    bank.prepare(1, "D-1", HandoverKind.LOAD, sender_hash)
    for attempt in range(1, MAX_FAILED_PINS):
        with pytest.raises(CompartmentError, match=f"{MAX_FAILED_PINS - attempt} attempts left"):
            bank.unlock(1, "000000")
    with pytest.raises(CompartmentError, match="now blocked"):
        bank.unlock(1, "000000")
    c = bank.get(1)
    assert c.blocked and c.locked
    with pytest.raises(CompartmentError, match="blocked after 5 wrong PINs; call a technician"):
        bank.unlock(1, SENDER_PIN)
    assert bank.get(1).locked
    bank.clear_block(1)
    assert bank.unlock(1, SENDER_PIN).locked is False


def test_malformed_pin_counts_as_wrong(sender_hash: str) -> None:
    bank = CompartmentBank(1)
    bank.prepare(1, "D-1", HandoverKind.LOAD, sender_hash)
    with pytest.raises(CompartmentError, match="4 attempts left"):
        bank.unlock(1, "12ab")


def test_right_pin_resets_the_wrong_pin_count(sender_hash: str) -> None:
    bank = CompartmentBank(1)
    bank.prepare(1, "D-1", HandoverKind.LOAD, sender_hash)
    for _ in range(MAX_FAILED_PINS - 1):
        with pytest.raises(CompartmentError):
            bank.unlock(1, "000000")
    bank.unlock(1, SENDER_PIN)
    assert bank.get(1).failed_pin_attempts == 0


def test_load_then_unload_cycle(sender_hash: str, recipient_hash: str) -> None:
    bank = CompartmentBank(2)
    bank.prepare(1, "D-1", HandoverKind.LOAD, sender_hash)
    assert not bank.handover_done(1, "D-1", HandoverKind.LOAD)
    bank.unlock(1, SENDER_PIN)
    assert not bank.handover_done(1, "D-1", HandoverKind.LOAD), "door still open"
    closed = bank.close(1, occupied=True)
    assert closed.locked and closed.occupied and closed.delivery_id == "D-1"
    assert bank.handover_done(1, "D-1", HandoverKind.LOAD)

    # in transit: no PIN opens it, not even the sender's or the recipient's
    for pin in (SENDER_PIN, RECIPIENT_PIN):
        with pytest.raises(CompartmentError, match="not expecting"):
            bank.unlock(1, pin)
    assert bank.get(1).failed_pin_attempts == 0, "refusals in transit are not PIN failures"

    bank.prepare(1, "D-1", HandoverKind.UNLOAD, recipient_hash)
    assert not bank.handover_done(1, "D-1", HandoverKind.UNLOAD)
    with pytest.raises(CompartmentError, match="wrong PIN"):
        bank.unlock(1, SENDER_PIN)
    bank.unlock(1, RECIPIENT_PIN)
    emptied = bank.close(1, occupied=False)
    assert emptied.locked and not emptied.occupied and emptied.delivery_id == ""
    assert bank.handover_done(1, "D-1", HandoverKind.UNLOAD)
    with pytest.raises(CompartmentError, match="not expecting"):
        bank.unlock(1, RECIPIENT_PIN)


def test_load_closed_empty_is_not_a_done_load(sender_hash: str) -> None:
    bank = CompartmentBank(1)
    bank.prepare(1, "D-1", HandoverKind.LOAD, sender_hash)
    bank.unlock(1, SENDER_PIN)
    bank.close(1, occupied=False)
    assert not bank.handover_done(1, "D-1", HandoverKind.LOAD)


def test_prepare_refuses_mismatched_deliveries(sender_hash: str, recipient_hash: str) -> None:
    bank = CompartmentBank(1)
    with pytest.raises(CompartmentError, match="does not hold delivery D-9"):
        bank.prepare(1, "D-9", HandoverKind.UNLOAD, recipient_hash)
    bank.prepare(1, "D-1", HandoverKind.LOAD, sender_hash)
    bank.unlock(1, SENDER_PIN)
    bank.close(1, occupied=True)
    with pytest.raises(CompartmentError, match="already holds delivery D-1"):
        bank.prepare(1, "D-2", HandoverKind.LOAD, sender_hash)


def test_close_of_a_locked_compartment_and_unknown_ids_are_refused() -> None:
    bank = CompartmentBank(3)
    with pytest.raises(CompartmentError, match="already locked"):
        bank.close(1, occupied=False)
    with pytest.raises(CompartmentError, match=r"compartment 4 does not exist \(1..3\)"):
        bank.get(4)
    with pytest.raises(ValueError):
        CompartmentBank(0)
