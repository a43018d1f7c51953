"""Queue-ticket (排队叫号) simulator for the demo hall: posts issued/called/finished events to the
fleet manager's webhook, as the hall's ticket system would.

Time runs ``time_scale`` times faster than the wall clock, like the rest of the demo. Event times
(``at``) are wall-clock instants; the fleet manager, started with the same time scale, counts the
minutes between them in hall time. The hall is already busy when the demo starts: some tickets were
issued before, so that one crosses the 15-minute limit within the first wall minute.
"""

from __future__ import annotations

import argparse
import heapq
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx

log = logging.getLogger(__name__)
HALL_TZ = timezone(timedelta(hours=8))  # Shanghai
# Waiting zone per ticket letter, with services served in that zone (sample ids; any text is accepted).
ZONES: dict[str, tuple[str, tuple[str, ...]]] = {
    "A": ("wait-A", ("business-licence", "food-business-permit", "company-change")),
    "B": ("wait-B", ("residence-permit", "household-registration", "id-card")),
    "C": ("wait-C", ("social-security-card", "medical-insurance", "pension")),
    "D": ("wait-D", ("birth-registration", "marriage-certificate", "housing-fund")),
}


@dataclass(frozen=True, order=True)
class Scheduled:
    hall_s: float  # seconds of hall time from the simulator's start (negative: before it)
    seq: int
    body: dict  # the webhook body without "at"


class TicketScript:
    """Generates a plausible day: arrivals, waits (a few too long), service times. Pure, seeded."""

    def __init__(self, seed: int | None = None, mean_arrival_min: float = 1.5, long_wait_share: float = 0.25) -> None:
        self.rng = random.Random(seed)
        self.mean_arrival_min = mean_arrival_min
        self.long_wait_share = long_wait_share
        self._numbers = {letter: 0 for letter in ZONES}
        self._seq = 0

    def ticket(self, issued_min: float, wait_min: float | None = None, letter: str | None = None) -> list[Scheduled]:
        """One ticket's three events (issued, called, finished), in hall minutes from the start."""
        letter = letter or self.rng.choice(sorted(ZONES))
        self._numbers[letter] += 1
        number = f"{letter}{self._numbers[letter]:03d}"
        zone, services = ZONES[letter]
        if wait_min is None:
            wait_min = (
                self.rng.uniform(17.0, 26.0)
                if self.rng.random() < self.long_wait_share
                else self.rng.uniform(3.0, 13.0)
            )
        served_min = self.rng.uniform(3.0, 9.0)
        base = {"ticket": number, "service": self.rng.choice(services), "zone": zone}
        return [
            self._at(issued_min, {**base, "event": "issued"}),
            self._at(issued_min + wait_min, {"ticket": number, "event": "called"}),
            self._at(issued_min + wait_min + served_min, {"ticket": number, "event": "finished"}),
        ]

    def _at(self, hall_min: float, body: dict) -> Scheduled:
        self._seq += 1
        return Scheduled(hall_min * 60.0, self._seq, body)

    def opening(self) -> list[Scheduled]:
        """Tickets issued before the demo started; the oldest will wait too long soon."""
        events = self.ticket(-14.0, wait_min=self.rng.uniform(20.0, 24.0), letter="B")
        for issued_min in (-11.0, -8.0, -5.5, -3.0, -1.0):
            events += self.ticket(issued_min)
        return events

    def next_arrival_min(self, after_min: float) -> float:
        return after_min + self.rng.expovariate(1.0 / self.mean_arrival_min)


def run(
    base_url: str, time_scale: float, duration_min: float | None = None, seed: int | None = None, timeout_s: float = 5.0
) -> int:
    """Post every event at its time (tickets keep coming until ``duration_min`` hall minutes, or
    forever); returns the number of events the fleet manager accepted."""
    script = TicketScript(seed)
    queue = script.opening()
    heapq.heapify(queue)
    arrival_min = script.next_arrival_min(0.0)
    start_wall = time.monotonic()
    start_at = datetime.now(HALL_TZ)
    sent = 0
    with httpx.Client(base_url=base_url, timeout=timeout_s) as client:
        while True:
            while (duration_min is None or arrival_min <= duration_min) and (
                not queue or arrival_min * 60.0 <= queue[0].hall_s
            ):
                for item in script.ticket(arrival_min):
                    heapq.heappush(queue, item)
                arrival_min = script.next_arrival_min(arrival_min)
            if not queue:
                return sent
            item = heapq.heappop(queue)
            wall_s = item.hall_s / time_scale
            delay_s = wall_s - (time.monotonic() - start_wall)
            if delay_s > 0:
                time.sleep(delay_s)
            body = {**item.body, "at": (start_at + timedelta(seconds=wall_s)).isoformat()}
            try:
                response = client.post("/api/queue/events", json=body)
            except httpx.HTTPError as exc:
                log.warning("queue event %s %s not delivered: %s", body["ticket"], body["event"], exc)
                continue
            if response.status_code != 200:
                log.warning("queue event %s refused: %d %s", body, response.status_code, response.text)
                continue
            sent += 1
            log.info("%s %s -> %s", body["ticket"], body["event"], response.json().get("outcome"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hallfleet_apps.sim.queue_tickets", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8080", help="the fleet manager")
    parser.add_argument("--time-scale", type=float, default=1.0, help="hall seconds per wall second")
    parser.add_argument(
        "--duration-min", type=float, default=None, help="stop issuing after this many hall minutes (default: never)"
    )
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    if not args.base_url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        parser.error("--base-url: this deployment talks to loopback only")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sent = run(args.base_url, args.time_scale, args.duration_min, args.seed)
    except KeyboardInterrupt:
        return 0
    log.info("queue-ticket simulator done: %d events", sent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
