"""Delivery lifecycle, request validation and hand-over PINs (pure logic)."""

from __future__ import annotations

import itertools
import random
import secrets
from datetime import UTC, date, datetime, timedelta

import pytest

from fleet_api.domain import pins as fleet_pins
from fleet_api.domain.deliveries import (
    LEGAL_TRANSITIONS,
    TERMINAL_STATES,
    Delivery,
    DeliveryState,
    DeliveryValidationError,
    Document,
    IllegalTransition,
    Party,
    assign,
    delivery_from_dict,
    delivery_to_dict,
    format_delivery_id,
    new_delivery,
    set_recipient_pin,
    transition,
)
from hallfleet.protocol.pins import PinFormatError, hash_pin, verify_pin

S = DeliveryState
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

EXPECTED_TABLE = {
    "requested": {"assigned", "cancelled", "failed"},
    "assigned": {"to_pickup", "cancelled", "failed", "requested"},
    "to_pickup": {"awaiting_load", "cancelled", "failed", "requested"},
    "awaiting_load": {"loaded", "cancelled", "failed"},
    "loaded": {"in_transit", "returning", "failed"},
    "in_transit": {"awaiting_recipient", "returning", "failed"},
    "awaiting_recipient": {"delivered", "returning", "failed"},
    "returning": {"returned_to_sender", "failed"},
    "delivered": set(),
    "cancelled": set(),
    "returned_to_sender": set(),
    "failed": set(),
}


def make(state: DeliveryState = S.REQUESTED) -> Delivery:
    d = new_delivery(
        "D-20261129-0001",
        Party("window-3", "Clerk Wang"),
        Party("dept-planning", "Officer Li"),
        [Document("BC-001", "营业执照申请表")],
        "normal",
        "",
        T0,
        "123456",
    )
    d.state = state  # place it directly; the path there is tested separately
    return d


def test_the_table_is_exactly_the_specified_lifecycle() -> None:
    assert {s.value: {t.value for t in ts} for s, ts in LEGAL_TRANSITIONS.items()} == EXPECTED_TABLE
    assert {s.value for s in TERMINAL_STATES} == {"delivered", "cancelled", "returned_to_sender", "failed"}


@pytest.mark.parametrize("current,target", list(itertools.product(list(S), list(S))), ids=lambda s: s.value)
def test_every_state_pair_is_allowed_or_refused_per_table(current: DeliveryState, target: DeliveryState) -> None:
    d = make(current)
    history_before = len(d.history)
    if target.value in EXPECTED_TABLE[current.value]:
        transition(d, target, T0 + timedelta(minutes=1), "step")
        assert d.state is target
        assert d.updated_at == T0 + timedelta(minutes=1)
        assert d.history[-1].state is target and len(d.history) == history_before + 1
    else:
        with pytest.raises(IllegalTransition) as err:
            transition(d, target, T0, "step")
        assert str(err.value) == f"delivery D-20261129-0001: cannot go from {current.value} to {target.value}"
        assert d.state is current and len(d.history) == history_before


def test_cancel_after_load_is_refused_with_a_clear_message() -> None:
    d = make(S.LOADED)
    with pytest.raises(IllegalTransition, match="cannot go from loaded to cancelled"):
        transition(d, S.CANCELLED, T0, "clerk cancelled")
    transition(d, S.RETURNING, T0, "clerk cancelled: bringing files back")
    assert not d.is_terminal, "returning ends only when the sender has taken the files out"
    transition(d, S.RETURNED_TO_SENDER, T0, "taken back by Clerk Wang")
    assert d.is_terminal


@pytest.mark.parametrize("state", [S.LOADED, S.IN_TRANSIT, S.AWAITING_RECIPIENT])
def test_files_in_a_robot_never_jump_straight_to_returned(state: DeliveryState) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot go from {state.value} to returned_to_sender"):
        transition(make(state), S.RETURNED_TO_SENDER, T0, "returned")


def test_happy_path_records_every_step_and_keeps_robot() -> None:
    d = make()
    assert d.state is S.REQUESTED and not d.is_terminal
    assert d.history[0].state is S.REQUESTED and d.history[0].at == T0
    assign(d, "dr-01", 2, T0 + timedelta(seconds=1))
    assert (d.robot_id, d.compartment_id) == ("dr-01", 2)
    for i, s in enumerate([S.TO_PICKUP, S.AWAITING_LOAD, S.LOADED, S.IN_TRANSIT, S.AWAITING_RECIPIENT, S.DELIVERED]):
        transition(d, s, T0 + timedelta(seconds=2 + i), s.value)
    assert d.is_terminal and d.robot_id == "dr-01"
    assert [h.state for h in d.history] == [
        S.REQUESTED,
        S.ASSIGNED,
        S.TO_PICKUP,
        S.AWAITING_LOAD,
        S.LOADED,
        S.IN_TRANSIT,
        S.AWAITING_RECIPIENT,
        S.DELIVERED,
    ]


def test_robot_lost_before_load_frees_the_delivery_for_rescheduling() -> None:
    d = make()
    assign(d, "dr-01", 1, T0)
    transition(d, S.TO_PICKUP, T0, "driving")
    transition(d, S.REQUESTED, T0, "robot dr-01 lost")
    assert d.state is S.REQUESTED and d.robot_id is None and d.compartment_id is None


def test_failure_keeps_the_reason() -> None:
    d = make(S.IN_TRANSIT)
    transition(d, S.FAILED, T0, "compartment lock jammed")
    assert d.failure_reason == "compartment lock jammed"


def test_assign_only_from_requested() -> None:
    d = make(S.LOADED)
    with pytest.raises(IllegalTransition, match="cannot go from loaded to assigned"):
        assign(d, "dr-01", 1, T0)
    assert d.robot_id is None


@pytest.mark.parametrize(
    "sender,recipient,documents,priority,message",
    [
        (Party("w1", "A"), Party("d1", "B"), [], "normal", "at least one document"),
        (Party("w1", "A"), Party("d1", "B"), [Document("  ", "form")], "normal", "empty barcode"),
        (Party("w1", "A"), Party("w1", "B"), [Document("X1", "form")], "normal", "same place 'w1'"),
        (Party("w1", "A"), Party("d1", "B"), [Document("X1", "a"), Document("X1", "b")], "normal", "listed twice"),
        (Party("w1", "A"), Party("d1", "B"), [Document("X1", "a")], "asap", "priority must be one of normal, urgent"),
        (Party("", "A"), Party("d1", "B"), [Document("X1", "a")], "normal", "sender place_id is empty"),
    ],
)
def test_bad_requests_are_rejected_with_a_clear_message(sender, recipient, documents, priority, message) -> None:
    with pytest.raises(DeliveryValidationError, match=message):
        new_delivery("D-1", sender, recipient, documents, priority, "", T0, "123456")


def test_naive_time_is_rejected() -> None:
    with pytest.raises(DeliveryValidationError, match="timezone-aware"):
        new_delivery(
            "D-1",
            Party("w1", "A"),
            Party("d1", "B"),
            [Document("X", "a")],
            "normal",
            "",
            datetime(2026, 1, 1),
            "123456",
        )


def test_only_pin_hashes_are_kept_and_they_verify() -> None:
    d = make()
    assert "123456" not in d.sender_pin_hash
    assert verify_pin("123456", d.sender_pin_hash) and not verify_pin("123457", d.sender_pin_hash)
    set_recipient_pin(d, "000042")
    assert d.recipient_pin_hash and verify_pin("000042", d.recipient_pin_hash)


def test_dict_round_trip_is_exact() -> None:
    d = make()
    assign(d, "dr-01", 3, T0 + timedelta(microseconds=7))
    assert delivery_from_dict(delivery_to_dict(d)) == d


def test_delivery_ids_are_human_readable() -> None:
    assert format_delivery_id(date(2026, 11, 29), 1) == "D-20261129-0001"
    with pytest.raises(ValueError):
        format_delivery_id(date(2026, 11, 29), 0)


# --- PINs --------------------------------------------------------------------------------


def test_generated_pins_are_six_digits_and_seedable() -> None:
    a = [fleet_pins.generate_pin(random.Random(7)) for _ in range(2)]
    assert a[0] == a[1] and len(a[0]) == 6 and a[0].isdigit()
    assert len(fleet_pins.generate_pin(secrets)) == 6
    assert all(len(fleet_pins.generate_pin()) == 6 for _ in range(50))


def test_leading_zero_pins_are_kept() -> None:
    class Zero:
        def randrange(self, n: int) -> int:
            return 42

    assert fleet_pins.generate_pin(Zero()) == "000042"  # type: ignore[arg-type]


def test_pin_hash_format_and_verification() -> None:
    stored = hash_pin("482913", "abc")
    salt, _, digest = stored.partition("$")
    assert salt == "abc" and len(digest) == 64
    assert hash_pin("482913", "abc") == stored  # deterministic for a given salt
    assert hash_pin("482913") != hash_pin("482913")  # random salt by default
    assert verify_pin("482913", stored)
    assert not verify_pin("482914", stored)
    assert not verify_pin("482913", "garbage")
    assert not verify_pin("48291", stored)
    assert fleet_pins.verify_pin is verify_pin


@pytest.mark.parametrize("bad", ["12345", "1234567", "12a456", "１２３４５６"])
def test_malformed_pins_cannot_be_hashed(bad: str) -> None:
    with pytest.raises(PinFormatError):
        hash_pin(bad)
