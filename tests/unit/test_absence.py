"""The absent-recipient rule: wait, notify again, wait, (alternate), give the files back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleet_api.domain.absence import (
    AbsenceError,
    AbsenceRule,
    Stage,
    Step,
    apply_step,
    due_step,
    name_alternate,
    start_watch,
    watch_from_events,
)

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=timezone(timedelta(hours=8)))
RULE = AbsenceRule(wait_min=10.0)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_nothing_is_due_during_the_first_wait_then_the_recipient_is_notified_again() -> None:
    watch = start_watch("D-1", T0)
    assert due_step(watch, at(9.9), RULE) is None
    assert due_step(watch, at(10), RULE) is Step.RENOTIFY


def test_the_second_wait_starts_when_the_recipient_was_notified_again_and_then_the_files_go_back() -> None:
    watch = start_watch("D-1", T0)
    apply_step(watch, Step.RENOTIFY, at(12))  # the check ran a little late
    assert watch.stage is Stage.SECOND_WAIT
    assert due_step(watch, at(21.9), RULE) is None
    assert due_step(watch, at(22), RULE) is Step.RETURN
    apply_step(watch, Step.RETURN, at(22))
    assert watch.stage is Stage.GIVEN_UP and due_step(watch, at(100), RULE) is None


def test_an_alternate_gets_a_whole_wait_of_their_own_once() -> None:
    watch = start_watch("D-1", T0)
    apply_step(watch, Step.RENOTIFY, at(10))
    name_alternate(watch, "Officer Zhang", at(19))
    assert watch.stage is Stage.ALTERNATE_WAIT and watch.alternate == "Officer Zhang"
    assert due_step(watch, at(28.9), RULE) is None
    assert due_step(watch, at(29), RULE) is Step.RETURN
    with pytest.raises(AbsenceError, match=r"alternate recipient \(Officer Zhang\) was already named"):
        name_alternate(watch, "Officer Zhao", at(20))


def test_no_alternate_once_the_files_are_going_back_and_none_without_a_name() -> None:
    watch = start_watch("D-1", T0)
    with pytest.raises(AbsenceError, match="name is empty"):
        name_alternate(watch, "  ", at(1))
    apply_step(watch, Step.RETURN, at(30))
    with pytest.raises(AbsenceError, match="already going back"):
        name_alternate(watch, "Officer Zhang", at(31))


def test_hall_minutes_run_faster_in_the_demo_hall() -> None:
    demo = AbsenceRule(wait_min=10.0, time_scale=60.0)  # one wall second is one hall minute
    watch = start_watch("D-1", T0)
    assert due_step(watch, T0 + timedelta(seconds=9), demo) is None
    assert due_step(watch, T0 + timedelta(seconds=10), demo) is Step.RENOTIFY


@pytest.mark.parametrize("wait_min,time_scale,what", [(0, 1, "wait_min"), (-1, 1, "wait_min"), (10, 0, "time_scale")])
def test_a_rule_that_could_never_end_or_ends_at_once_is_refused(wait_min: float, time_scale: float, what: str) -> None:
    with pytest.raises(ValueError, match=what):
        AbsenceRule(wait_min, time_scale)


def test_naive_times_are_refused() -> None:
    with pytest.raises(AbsenceError, match="timezone-aware"):
        start_watch("D-1", datetime(2026, 11, 29, 9, 0))


def test_the_schedule_is_rebuilt_from_custody_events() -> None:
    events = [
        ("created", at(-30), ""),
        ("loaded", at(-20), ""),
        ("arrived", at(0), ""),
        ("recipient_absent", at(10), ""),
        ("renotified", at(10), ""),
        ("alternate_named", at(15), "Officer Zhang"),
    ]
    watch = watch_from_events("D-1", events)
    assert (watch.stage, watch.wait_started_at, watch.alternate) == (Stage.ALTERNATE_WAIT, at(15), "Officer Zhang")
    assert watch_from_events("D-1", events[:2]) is None, "no wait before the robot arrived"
    gone = watch_from_events("D-1", events + [("returning", at(25), "")])
    assert gone.stage is Stage.GIVEN_UP
