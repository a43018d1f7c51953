"""Recipient absent: how long the robot waits at the destination and what happens next.

The robot holds the files the whole time; only the order of steps and their times are decided here
(pure logic, times passed in):

1. the robot waits ``wait_min`` hall minutes from its arrival;
2. nobody came: the recipient is notified again and a second wait starts;
3. at any time while it waits a clerk may name one alternate recipient of that department, who gets a
   new one-time PIN and a fresh wait (the previous PIN stops working);
4. the second wait (or the alternate's) runs out with nobody: the files go back to the sender.

The fleet rebuilds a watch from the delivery's custody events (:func:`watch_from_events`), so a
restarted fleet manager continues the same schedule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AbsenceError(ValueError):
    """A request the absence rule refuses (a second alternate, a wait that already ended)."""


class Stage(StrEnum):
    FIRST_WAIT = "first_wait"  # since the robot arrived
    SECOND_WAIT = "second_wait"  # since the recipient was notified again
    ALTERNATE_WAIT = "alternate_wait"  # since a clerk named an alternate recipient
    GIVEN_UP = "given_up"  # nobody came: the files go back to the sender


class Step(StrEnum):
    RENOTIFY = "renotify"
    RETURN = "return"


@dataclass(frozen=True)
class AbsenceRule:
    """The hall's setting: ``wait_min`` hall minutes per wait; ``time_scale`` hall minutes per wall minute."""

    wait_min: float = 10.0
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.wait_min > 0:
            raise ValueError(f"recipient wait_min must be > 0, got {self.wait_min}")
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale}")


@dataclass
class AbsenceWatch:
    delivery_id: str
    stage: Stage
    wait_started_at: datetime
    alternate: str | None = None


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise AbsenceError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def start_watch(delivery_id: str, arrived_at: datetime) -> AbsenceWatch:
    """The robot reached the destination: the first wait starts."""
    _require_aware("arrived_at", arrived_at)
    return AbsenceWatch(delivery_id, Stage.FIRST_WAIT, arrived_at)


def waited_min(watch: AbsenceWatch, now: datetime, rule: AbsenceRule) -> float:
    """Hall minutes of the current wait so far."""
    _require_aware("now", now)
    return max(0.0, (now - watch.wait_started_at).total_seconds()) * rule.time_scale / 60.0


def due_step(watch: AbsenceWatch, now: datetime, rule: AbsenceRule) -> Step | None:
    """What must happen now: None while the current wait lasts (or after giving up)."""
    if watch.stage is Stage.GIVEN_UP or waited_min(watch, now, rule) < rule.wait_min:
        return None
    return Step.RENOTIFY if watch.stage is Stage.FIRST_WAIT else Step.RETURN


def apply_step(watch: AbsenceWatch, step: Step, now: datetime) -> None:
    """Record that ``step`` was carried out at ``now``."""
    _require_aware("now", now)
    if step is Step.RENOTIFY:
        if watch.stage is not Stage.FIRST_WAIT:
            raise AbsenceError(f"delivery {watch.delivery_id}: the recipient is notified again only once")
        watch.stage, watch.wait_started_at = Stage.SECOND_WAIT, now
    else:
        watch.stage = Stage.GIVEN_UP


def name_alternate(watch: AbsenceWatch, person: str, now: datetime) -> None:
    """A clerk names who receives the files instead; only once, and only while the robot still waits."""
    _require_aware("now", now)
    if not person.strip():
        raise AbsenceError(f"delivery {watch.delivery_id}: the alternate recipient's name is empty")
    if watch.stage is Stage.GIVEN_UP:
        raise AbsenceError(f"delivery {watch.delivery_id}: nobody came, the files are already going back to the sender")
    if watch.alternate is not None:
        raise AbsenceError(
            f"delivery {watch.delivery_id}: an alternate recipient ({watch.alternate}) was already named"
        )
    watch.stage, watch.wait_started_at, watch.alternate = Stage.ALTERNATE_WAIT, now, person


# Custody kinds that move the schedule, in the order they happen.
ARRIVED, RENOTIFIED, ALTERNATE_NAMED, RETURNING = "arrived", "renotified", "alternate_named", "returning"


def watch_from_events(delivery_id: str, events: Iterable[tuple[str, datetime, str]]) -> AbsenceWatch | None:
    """Rebuild the watch from the delivery's custody facts (kind, at, alternate's name for
    ``alternate_named``, else anything), oldest first; None before the robot arrived."""
    watch: AbsenceWatch | None = None
    for kind, at, person in events:
        if kind == ARRIVED and watch is None:
            watch = start_watch(delivery_id, at)
        elif watch is None:
            continue
        elif kind == RENOTIFIED and watch.stage is Stage.FIRST_WAIT:
            apply_step(watch, Step.RENOTIFY, at)
        elif kind == ALTERNATE_NAMED and watch.alternate is None:
            name_alternate(watch, person, at)
        elif kind == RETURNING:
            watch.stage = Stage.GIVEN_UP
    return watch
