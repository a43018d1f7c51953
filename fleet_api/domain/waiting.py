"""Visitors who wait: queue tickets, the wait limit, and the guidance robot's visit to a ticket.

Pure logic (no I/O, times passed in). The queue-ticket system reports tickets; when one has waited
longer than the hall's limit, the nearest free guidance robot goes to its waiting zone and greets
the ticket number. A robot goes at most once to a ticket (a visitor greeted once is not pestered
again), and a visit still on its way is cancelled when the ticket is called or finished.

Kept in memory only: after a fleet manager restart the queue system's next events rebuild what
matters (tickets issued before the restart are not visited). No image or face is ever involved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

DEFAULT_WAIT_LIMIT_MIN = 15.0


@dataclass(frozen=True)
class WaitRule:
    """The hall's settings for waiting visitors."""

    limit_min: float = DEFAULT_WAIT_LIMIT_MIN  # a ticket waiting longer gets a visit
    stay_min: float = 2.0  # after greeting, the robot stays to help this long, then goes home
    time_scale: float = 1.0  # hall minutes per wall minute (> 1 only in the simulated demo hall)


class TicketEvent(StrEnum):
    ISSUED = "issued"
    CALLED = "called"
    FINISHED = "finished"


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    FINISHED = "finished"


class VisitState(StrEnum):
    EN_ROUTE = "en_route"  # the robot drives to the waiting zone
    GREETING = "greeting"  # arrived; the greeting is being spoken
    GREETED = "greeted"  # the robot said it and offers help
    CANCELLED = "cancelled"  # the ticket was called or finished before the robot arrived
    FAILED = "failed"  # the robot could not get there or could not speak

    @property
    def active(self) -> bool:
        return self in (VisitState.EN_ROUTE, VisitState.GREETING)


class Outcome(StrEnum):
    """What one webhook event did (the answer to the queue system)."""

    CREATED = "created"  # a new waiting ticket
    DUPLICATE = "duplicate"  # a repeat of something already known: nothing changed
    UPDATED = "updated"  # the ticket was called or finished
    IGNORED = "ignored"  # called/finished for a ticket never issued here, or stale


@dataclass
class Visit:
    visit_id: str
    ticket: str
    robot_id: str
    zone_id: str
    language: str
    started_at: datetime
    state: VisitState = VisitState.EN_ROUTE
    order_id: str | None = None
    arrived_at: datetime | None = None
    ended_at: datetime | None = None
    speak_action_id: str | None = None
    waited_min: int | None = None  # as said in the greeting
    wav_path: str | None = None
    note: str = ""
    home_sent: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "visit_id": self.visit_id,
            "ticket": self.ticket,
            "robot_id": self.robot_id,
            "zone": self.zone_id,
            "state": self.state.value,
            "started_at": self.started_at.isoformat(),
            "arrived_at": self.arrived_at.isoformat() if self.arrived_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "waited_min": self.waited_min,
            "wav_path": self.wav_path,
            "note": self.note,
        }


@dataclass
class Ticket:
    number: str
    day: date  # ticket numbers start again every day
    service: str
    zone_id: str
    language: str
    issued_at: datetime | None  # None: only heard of through called/finished (never waited here)
    status: TicketStatus = TicketStatus.WAITING
    closed_at: datetime | None = None
    visits: list[Visit] = field(default_factory=list)

    @property
    def visit(self) -> Visit | None:
        return self.visits[-1] if self.visits else None

    @property
    def visited(self) -> bool:
        """A robot is on its way, is there, or has been there: never send another."""
        return any(v.state not in (VisitState.CANCELLED, VisitState.FAILED) for v in self.visits)


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    ticket: Ticket | None
    cancel: Visit | None = None  # a visit on its way that must be called off


def waited_min(issued_at: datetime, now: datetime, time_scale: float = 1.0) -> float:
    """Minutes waited in hall time (``time_scale`` > 1 only in the simulated demo hall)."""
    return max(0.0, (now - issued_at).total_seconds()) * time_scale / 60.0


def greeting(ticket: str, minutes: int, language: str = "zh-CN") -> str:
    """What the robot says to the holder of ``ticket`` (zh-CN unless the ticket chose English)."""
    if language.lower().startswith("en"):
        unit = "minute" if minutes == 1 else "minutes"
        return (
            f"Hello, holder of ticket {ticket}. You have been waiting for {minutes} {unit}. "
            "May I help you? You can ask me your question on my screen."
        )
    return f"{ticket}号的市民您好，您已经等候了{minutes}分钟，请问需要帮助吗？您可以在我的屏幕上直接提问。"


class QueueBook:
    """The hall's queue tickets and the robots' visits, folded from webhook events."""

    def __init__(self) -> None:
        self.tickets: dict[tuple[date, str], Ticket] = {}

    # ------------------------------------------------------------ events
    def apply(
        self,
        number: str,
        event: TicketEvent,
        at: datetime,
        *,
        service: str = "",
        zone_id: str = "",
        language: str = "zh-CN",
    ) -> Applied:
        """Fold one event in. Idempotent: a repeat changes nothing; events may arrive out of order."""
        day = at.date()  # in the sender's own UTC offset: the hall's local day
        self._forget_before(day)
        key = (day, number)
        ticket = self.tickets.get(key)
        if event == TicketEvent.ISSUED:
            if ticket is None:
                ticket = Ticket(number, day, service, zone_id, language, at)
                self.tickets[key] = ticket
                return Applied(Outcome.CREATED, ticket)
            if ticket.issued_at is None:  # called/finished overtook the issue: it is over already
                ticket.issued_at, ticket.service, ticket.zone_id = at, service, zone_id
                return Applied(Outcome.IGNORED, ticket)
            return Applied(Outcome.DUPLICATE, ticket)
        status = TicketStatus.CALLED if event == TicketEvent.CALLED else TicketStatus.FINISHED
        if ticket is None:  # remember it, so that a late "issued" does not start a wait that is over
            self.tickets[key] = Ticket(number, day, service, zone_id, language, None, status, at)
            return Applied(Outcome.IGNORED, None)
        if ticket.status == status:
            return Applied(Outcome.DUPLICATE, ticket)
        if ticket.status == TicketStatus.FINISHED:  # a late "called": stale
            return Applied(Outcome.IGNORED, ticket)
        was_waiting = ticket.status == TicketStatus.WAITING
        ticket.status, ticket.closed_at = status, at
        if ticket.issued_at is None:
            return Applied(Outcome.IGNORED, None)
        visit = ticket.visit
        cancel = visit if was_waiting and visit is not None and visit.state == VisitState.EN_ROUTE else None
        return Applied(Outcome.UPDATED, ticket, cancel)

    def _forget_before(self, day: date) -> None:
        """Keep today's and yesterday's tickets only (a day's numbers are reused the next day)."""
        for key in [k for k in self.tickets if (day - k[0]).days > 1]:
            del self.tickets[key]

    # ------------------------------------------------------------ queries
    def waiting(self) -> list[Ticket]:
        """Tickets still waiting, longest waiting first."""
        found = [t for t in self.tickets.values() if t.status == TicketStatus.WAITING and t.issued_at is not None]
        return sorted(found, key=lambda t: t.issued_at)

    def due(self, now: datetime, limit_min: float, time_scale: float = 1.0) -> list[Ticket]:
        """Waiting tickets over the limit that no robot has gone to yet, longest waiting first."""
        return [t for t in self.waiting() if not t.visited and waited_min(t.issued_at, now, time_scale) > limit_min]

    def visits(self) -> list[Visit]:
        """Every visit, newest first (the technician's record of which robot went to which ticket)."""
        return sorted((v for t in self.tickets.values() for v in t.visits), key=lambda v: v.started_at, reverse=True)

    def active_visit(self, robot_id: str) -> Visit | None:
        return next(
            (v for t in self.tickets.values() for v in t.visits if v.robot_id == robot_id and v.state.active), None
        )

    def ticket_of(self, visit: Visit) -> Ticket | None:
        return next((t for t in self.tickets.values() if visit in t.visits), None)

    # ------------------------------------------------------------ visits
    def start_visit(self, ticket: Ticket, robot_id: str, visit_id: str, now: datetime) -> Visit:
        if ticket.visited:
            raise ValueError(f"ticket {ticket.number} already has a visit")
        visit = Visit(visit_id, ticket.number, robot_id, ticket.zone_id, ticket.language, now)
        ticket.visits.append(visit)
        return visit


def end_visit(visit: Visit, state: VisitState, now: datetime, note: str = "") -> None:
    visit.state, visit.ended_at = state, now
    if note:
        visit.note = note


def assign(
    due: Iterable[Ticket],
    free_robot_ids: Iterable[str],
    distance_m: Callable[[str, str], float | None],
) -> list[tuple[Ticket, str]]:
    """Pair tickets (longest waiting first) with the free robot nearest to each one's zone.

    ``distance_m(robot_id, zone_id)`` is the route length, None when the robot cannot get there.
    A robot that already failed a ticket is not sent to it again.
    """
    free = list(free_robot_ids)
    pairs: list[tuple[Ticket, str]] = []
    for ticket in due:
        tried = {v.robot_id for v in ticket.visits}
        options = [
            (d, robot_id)
            for robot_id in free
            if robot_id not in tried and (d := distance_m(robot_id, ticket.zone_id)) is not None
        ]
        if not options:
            continue
        _, robot_id = min(options)
        free.remove(robot_id)
        pairs.append((ticket, robot_id))
    return pairs
