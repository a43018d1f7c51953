"""Which waiting deliveries ride along on one robot trip.

When the dispatcher has chosen a free robot for a waiting delivery (the *lead*: urgent first, then
the oldest), other waiting deliveries may join the trip. The rule, so a clerk can follow it:

1. An urgent lead rides alone, and an urgent delivery never rides along on another's trip: no
   stop for someone else's files may make urgent files later (an urgent one leads its own trip).
2. At most as many deliveries as the robot has free compartments (one compartment each).
3. No extra elevator ride: every pickup is on the floor of the lead's pickup, every destination on
   the floor of the lead's destination (e.g. a window sending several files to departments on
   floor 3, or windows next to each other sending files to one floor).
4. The robot loads everything first, then hands over: the lead's pickup is the first stop (the
   robot was chosen as the nearest to it); each joining delivery's pickup and destination go where
   they lengthen the tour least.
5. The detour is bounded: the lead's files may arrive at most ``max_detour_ratio`` (30 %) later
   than if they rode alone, counted from now (the robot's drive to the lead's pickup included:
   that is what the lead's recipient waits for), and the tour may be at most ``max_detour_m``
   metres longer. So a file for the room next door rides along; one for the far end of the floor
   waits for another robot. (The whole tour is bounded, which also bounds the lead's part of it.)
6. Candidates are considered in the dispatcher's order (oldest first); the first that fits joins.

Time at the stops (a clerk loading, a recipient taking files out) is not counted: it is the same
work with or without the batch. Pure: the caller passes the route figures (``maps.planner``) as a
``LegCost`` function, so this module reads no map, store or clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Leg:
    """Figures of the planned route between two waypoints."""

    distance_m: float
    time_s: float


LegCost = Callable[[str, str], Leg | None]  # (from waypoint, to waypoint) -> route figures; None: no route


@dataclass(frozen=True)
class Job:
    """A waiting delivery as the rule sees it: where it is picked up and handed over."""

    delivery_id: str
    pickup_waypoint: str
    dest_waypoint: str
    pickup_level: int
    dest_level: int
    urgent: bool = False


@dataclass(frozen=True)
class BatchStop:
    delivery_id: str
    kind: Literal["load", "unload"]
    waypoint_id: str


@dataclass(frozen=True)
class BatchRule:
    max_detour_ratio: float = 0.30  # the tour may take this much longer than the lead's own route
    max_detour_m: float = 40.0  # and be at most this many metres longer

    def __post_init__(self) -> None:
        if self.max_detour_ratio < 0 or self.max_detour_m < 0:
            raise ValueError("detour bounds must be >= 0")


@dataclass(frozen=True)
class Batch:
    """The deliveries of one trip (lead first), their stops in driving order, and the figures of
    the lead alone and of the whole tour (from the robot's start when one was given)."""

    delivery_ids: tuple[str, ...]
    stops: tuple[BatchStop, ...]
    lead_m: float
    lead_s: float
    tour_m: float
    tour_s: float

    @property
    def detour_m(self) -> float:
        return self.tour_m - self.lead_m

    @property
    def detour_s(self) -> float:
        return self.tour_s - self.lead_s


def _tour(stops: Sequence[BatchStop], leg: LegCost) -> Leg | None:
    distance_m = time_s = 0.0
    for a, b in zip(stops, stops[1:]):
        if a.waypoint_id == b.waypoint_id:
            continue
        figures = leg(a.waypoint_id, b.waypoint_id)
        if figures is None:
            return None
        distance_m += figures.distance_m
        time_s += figures.time_s
    return Leg(distance_m, time_s)


def _best_insertion(
    start: list[BatchStop], pickups: list[BatchStop], drops: list[BatchStop], job: Job, leg: LegCost
) -> tuple[Leg, list[BatchStop], list[BatchStop]] | None:
    """The cheapest (by time) places for ``job``'s pickup (after the lead's) and destination; on a
    tie the later place, so deliveries are served in the order they joined."""
    load = BatchStop(job.delivery_id, "load", job.pickup_waypoint)
    unload = BatchStop(job.delivery_id, "unload", job.dest_waypoint)
    best: tuple[Leg, list[BatchStop], list[BatchStop]] | None = None
    for i in range(len(pickups), 0, -1):
        new_pickups = pickups[:i] + [load] + pickups[i:]
        for j in range(len(drops), -1, -1):
            new_drops = drops[:j] + [unload] + drops[j:]
            figures = _tour(start + new_pickups + new_drops, leg)
            if figures is not None and (best is None or figures.time_s < best[0].time_s):
                best = (figures, new_pickups, new_drops)
    return best


def plan_batch(
    lead: Job,
    waiting: Sequence[Job],
    free_compartments: int,
    leg: LegCost,
    rule: BatchRule = BatchRule(),
    start_waypoint: str | None = None,
) -> Batch | None:
    """The trip for ``lead`` and the ``waiting`` deliveries that fit (see the module rule), for a
    robot at ``start_waypoint`` (None: figures from the lead's pickup on); None when the lead
    itself has no route. The figures include the drive from ``start_waypoint``."""
    start = [BatchStop("", "load", start_waypoint)] if start_waypoint is not None else []
    pickups = [BatchStop(lead.delivery_id, "load", lead.pickup_waypoint)]
    drops = [BatchStop(lead.delivery_id, "unload", lead.dest_waypoint)]
    lead_figures = _tour(start + pickups + drops, leg)
    if lead_figures is None:
        return None
    tour, members = lead_figures, [lead.delivery_id]
    max_s = lead_figures.time_s * (1.0 + rule.max_detour_ratio)
    max_m = lead_figures.distance_m + rule.max_detour_m
    for job in waiting:
        if lead.urgent or len(members) >= free_compartments:
            break
        if job.urgent or job.delivery_id in members:
            continue
        if job.pickup_level != lead.pickup_level or job.dest_level != lead.dest_level:
            continue
        found = _best_insertion(start, pickups, drops, job, leg)
        if found is None:
            continue
        figures, new_pickups, new_drops = found
        if figures.time_s <= max_s + 1e-9 and figures.distance_m <= max_m + 1e-9:
            tour, pickups, drops = figures, new_pickups, new_drops
            members.append(job.delivery_id)
    return Batch(
        tuple(members),
        tuple(pickups + drops),
        lead_figures.distance_m,
        lead_figures.time_s,
        tour.distance_m,
        tour.time_s,
    )
