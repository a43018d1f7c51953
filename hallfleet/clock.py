"""Hall time: the one clock every part of HallFleet reads, so the same code runs on the wall clock and
on simulated time.

``Clock`` is the port: ``now()`` (an aware UTC datetime of hall time), ``monotonic()`` (hall seconds
that never go back) and ``call_later()`` (run a callback after so many hall seconds). Two adapters:

- ``WallClock``: hall time is the wall clock, running ``rate`` times faster from an ``anchor`` instant
  at which both agree (the demo hall runs 5x; a real hall runs at rate 1). Processes that share the
  anchor and rate agree on hall time. Timers run on the asyncio loop of the thread that started them.
- ``VirtualClock``: time stands still until the owner calls ``advance()``, which runs due timers in
  order at their own instant. Tests and the hall-day simulator use it to run hours in milliseconds.

``rate`` is hall seconds per wall second: a person watching a page lives in wall time, so an estimate
shown to them as "seconds from now" is hall seconds divided by it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Timer(Protocol):
    """A scheduled callback; ``cancel()`` keeps it from running (no-op once it ran)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """The port: hall time, and timers in hall seconds."""

    @property
    def rate(self) -> float:
        """Hall seconds per wall second (1 in a real hall)."""
        ...

    def now(self) -> datetime:
        """Hall time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Hall seconds from an arbitrary origin; never decreases."""
        ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once, ``delay_s`` hall seconds from now."""
        ...


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


class WallClock:
    """The wall clock, ``rate`` times faster from ``anchor`` (default: when the clock is made)."""

    def __init__(self, rate: float = 1.0, anchor: datetime | None = None) -> None:
        if not rate > 0:
            raise ValueError(f"clock rate must be > 0, got {rate}")
        if anchor is not None:
            _require_aware("anchor", anchor)
        self._rate = float(rate)
        self._anchor = (anchor or datetime.now(UTC)).astimezone(UTC)
        self._mono_origin_s = time.monotonic()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def anchor(self) -> datetime:
        return self._anchor

    def now(self) -> datetime:
        wall = datetime.now(UTC)
        if self._rate == 1.0:
            return wall
        return self._anchor + (wall - self._anchor) * self._rate

    def monotonic(self) -> float:
        return (time.monotonic() - self._mono_origin_s) * self._rate

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        """On the running asyncio loop (the fleet manager's): ``delay_s`` hall seconds."""
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, delay_s) / self._rate, callback)


@dataclass(order=True)
class _Scheduled:
    at_s: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Simulated hall time: stands still between ``advance()`` calls; timers run in time order.

    A callback that schedules another timer within the advanced span sees it run in the same
    ``advance()``, at its own instant (``now()`` inside a callback is that callback's time).
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # a Monday, 08:00 in Shanghai
        _require_aware("start", start)
        self._start = start.astimezone(UTC)
        self._elapsed_s = 0.0
        self._timers: list[_Scheduled] = []
        self._seq = itertools.count()

    @property
    def rate(self) -> float:
        return 1.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed_s)

    def monotonic(self) -> float:
        return self._elapsed_s

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        timer = _Scheduled(self._elapsed_s + max(0.0, delay_s), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def next_timer_s(self) -> float | None:
        """Hall seconds until the next pending timer (None when none is pending)."""
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].at_s - self._elapsed_s if self._timers else None

    def advance(self, delta_s: float) -> int:
        """Move time on by ``delta_s`` hall seconds, running every timer due on the way; returns how many ran."""
        if delta_s < 0:
            raise ValueError(f"time cannot go back: advance({delta_s})")
        until_s = self._elapsed_s + delta_s
        ran = 0
        while self._timers and self._timers[0].at_s <= until_s:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._elapsed_s = max(self._elapsed_s, timer.at_s)
            timer.callback()
            ran += 1
        self._elapsed_s = until_s
        return ran

    def advance_to(self, instant: datetime) -> int:
        """Advance to ``instant`` (no-op if it is not later than now)."""
        _require_aware("instant", instant)
        return self.advance(max(0.0, (instant - self.now()).total_seconds()))


def every(clock: Clock, period_s: float, callback: Callable[[], None]) -> Timer:
    """Run ``callback`` every ``period_s`` hall seconds until the returned timer is cancelled."""
    if not period_s > 0:
        raise ValueError(f"period_s must be > 0, got {period_s}")
    return _Repeating(clock, period_s, callback)


class _Repeating:
    def __init__(self, clock: Clock, period_s: float, callback: Callable[[], None]) -> None:
        self._clock, self._period_s, self._callback = clock, period_s, callback
        self._cancelled = False
        self._timer = clock.call_later(period_s, self._fire)

    def _fire(self) -> None:
        if self._cancelled:
            return
        try:
            self._callback()
        finally:
            if not self._cancelled:
                self._timer = self._clock.call_later(self._period_s, self._fire)

    def cancel(self) -> None:
        self._cancelled = True
        self._timer.cancel()
