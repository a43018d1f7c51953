"""The wait rule: tickets over the limit get one visit from the nearest free guidance robot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleet_api.domain import waiting as wt

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=CST)
E = wt.TicketEvent


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def issue(book: wt.QueueBook, number: str, at_min: float = 0.0, zone: str = "wait-A") -> wt.Applied:
    return book.apply(number, E.ISSUED, minutes(at_min), service="business-licence", zone_id=zone)


def test_a_ticket_becomes_due_only_after_the_limit() -> None:
    book = wt.QueueBook()
    issue(book, "A023")
    assert book.due(minutes(15), 15.0) == []  # exactly at the limit: not yet "longer than"
    assert [t.number for t in book.due(minutes(15.5), 15.0)] == ["A023"]
    assert book.due(minutes(15.5), 20.0) == []  # the hall's own limit counts


def test_time_scale_counts_hall_minutes() -> None:
    book = wt.QueueBook()
    issue(book, "A023")
    wall_now = T0 + timedelta(seconds=50)  # 50 wall seconds at 20x = 16.7 hall minutes
    assert wt.waited_min(T0, wall_now, 20.0) == pytest.approx(50 * 20 / 60)
    assert [t.number for t in book.due(wall_now, 15.0, time_scale=20.0)] == ["A023"]
    assert book.due(wall_now, 15.0) == []


def test_due_lists_the_longest_waiting_first_and_never_a_ticket_with_a_visit() -> None:
    book = wt.QueueBook()
    issue(book, "B101", at_min=2)
    issue(book, "A023", at_min=0)
    issue(book, "C007", at_min=10)
    due = book.due(minutes(18), 15.0)
    assert [t.number for t in due] == ["A023", "B101"]
    book.start_visit(due[0], "gr1", "v1", minutes(18))
    assert [t.number for t in book.due(minutes(30), 15.0)] == ["B101", "C007"]
    with pytest.raises(ValueError):
        book.start_visit(due[0], "gr2", "v2", minutes(30))


def test_a_greeted_ticket_is_never_visited_twice() -> None:
    book = wt.QueueBook()
    ticket = issue(book, "A023").ticket
    visit = book.start_visit(ticket, "gr1", "v1", minutes(16))
    wt.end_visit(visit, wt.VisitState.GREETED, minutes(17))
    assert book.due(minutes(60), 15.0) == []
    assert book.active_visit("gr1") is None


def test_a_failed_visit_lets_another_robot_try_but_not_the_same_one() -> None:
    book = wt.QueueBook()
    ticket = issue(book, "A023").ticket
    visit = book.start_visit(ticket, "gr1", "v1", minutes(16))
    wt.end_visit(visit, wt.VisitState.FAILED, minutes(16.5), "order rejected")
    due = book.due(minutes(17), 15.0)
    assert [t.number for t in due] == ["A023"]
    distances = {"gr1": 5.0, "gr2": 40.0}
    assert [(t.number, r) for t, r in wt.assign(due, ["gr1", "gr2"], lambda r, _z: distances[r])] == [("A023", "gr2")]


def test_called_before_arrival_cancels_the_visit() -> None:
    book = wt.QueueBook()
    ticket = issue(book, "A023").ticket
    visit = book.start_visit(ticket, "gr1", "v1", minutes(16))
    applied = book.apply("A023", E.CALLED, minutes(17))
    assert applied.outcome == wt.Outcome.UPDATED and applied.cancel is visit
    assert book.waiting() == []
    # a repeat of the call changes nothing and cancels nothing again
    again = book.apply("A023", E.CALLED, minutes(17))
    assert again.outcome == wt.Outcome.DUPLICATE and again.cancel is None


def test_called_after_the_greeting_cancels_nothing() -> None:
    book = wt.QueueBook()
    ticket = issue(book, "A023").ticket
    visit = book.start_visit(ticket, "gr1", "v1", minutes(16))
    visit.state = wt.VisitState.GREETING
    applied = book.apply("A023", E.FINISHED, minutes(20))
    assert applied.outcome == wt.Outcome.UPDATED and applied.cancel is None


def test_repeat_issued_is_idempotent() -> None:
    book = wt.QueueBook()
    assert issue(book, "A023").outcome == wt.Outcome.CREATED
    repeat = book.apply("A023", E.ISSUED, minutes(3), service="other", zone_id="wait-B")
    assert repeat.outcome == wt.Outcome.DUPLICATE
    (ticket,) = book.waiting()
    assert (ticket.issued_at, ticket.zone_id) == (T0, "wait-A")


def test_called_for_an_unknown_ticket_is_ignored_and_a_late_issue_does_not_reopen_it() -> None:
    book = wt.QueueBook()
    assert book.apply("A099", E.CALLED, minutes(20)).outcome == wt.Outcome.IGNORED
    assert book.waiting() == []
    late = book.apply("A099", E.ISSUED, minutes(1), service="x", zone_id="wait-A")
    assert late.outcome == wt.Outcome.IGNORED
    assert book.waiting() == [] and book.due(minutes(60), 15.0) == []


def test_called_after_finished_is_stale() -> None:
    book = wt.QueueBook()
    issue(book, "A023")
    assert book.apply("A023", E.FINISHED, minutes(20)).outcome == wt.Outcome.UPDATED
    assert book.apply("A023", E.CALLED, minutes(19)).outcome == wt.Outcome.IGNORED


def test_the_same_number_on_the_next_day_is_a_new_ticket() -> None:
    book = wt.QueueBook()
    issue(book, "A023")
    book.apply("A023", E.FINISHED, minutes(20))
    tomorrow = book.apply("A023", E.ISSUED, T0 + timedelta(days=1), service="x", zone_id="wait-A")
    assert tomorrow.outcome == wt.Outcome.CREATED
    assert [t.day for t in book.waiting()] == [(T0 + timedelta(days=1)).date()]


def test_nearest_free_robot_is_chosen_per_ticket_and_each_robot_goes_once() -> None:
    book = wt.QueueBook()
    issue(book, "A023", at_min=0, zone="wait-A")
    issue(book, "B005", at_min=1, zone="wait-B")
    distances = {
        ("gr1", "wait-A"): 30.0,
        ("gr2", "wait-A"): 8.0,
        ("gr1", "wait-B"): 12.0,
        ("gr2", "wait-B"): 3.0,
        ("gr3", "wait-A"): None,
        ("gr3", "wait-B"): None,
    }
    pairs = wt.assign(book.due(minutes(20), 15.0), ["gr1", "gr2", "gr3"], lambda r, z: distances[r, z])
    # A023 waited longest: it gets the robot nearest to it; B005 the nearest one left
    assert [(t.number, r) for t, r in pairs] == [("A023", "gr2"), ("B005", "gr1")]


def test_no_free_robot_means_no_visit_yet() -> None:
    book = wt.QueueBook()
    issue(book, "A023")
    assert wt.assign(book.due(minutes(20), 15.0), [], lambda r, z: 1.0) == []
    assert wt.assign(book.due(minutes(20), 15.0), ["gr9"], lambda r, z: None) == []  # cannot get there


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", "A023号的市民您好，您已经等候了16分钟，请问需要帮助吗？"),
        ("en", "Hello, holder of ticket A023. You have been waiting for 16 minutes. May I help you?"),
    ],
)
def test_greeting_names_the_ticket_and_the_minutes(language: str, expected: str) -> None:
    assert wt.greeting("A023", 16, language).startswith(expected)
