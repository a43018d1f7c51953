"""When will the files get there? A pure estimate from what is left of a robot's trip.

The remaining time is the remaining lane length at the robot's speed (never faster than a lane's
speed limit) plus, for each elevator ride still ahead, the car's door and travel time (as the
planner counts it, ``maps.planner``) and an average wait for the car to come. Nothing here reads
clocks, stores or sockets: the caller passes the trip, the robot's last reported state and "now".

A trip may carry several deliveries: each one's estimate runs to ITS stop (its pickup, or its
recipient) and counts a hand-over time for every other delivery's stop still ahead of it.

The figures are in hall seconds; a simulated hall that runs ``time_scale`` times faster than the
wall clock divides them by it (``arrive_by`` is a wall-clock time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from maps.site import Site, SiteError

HANDOVER_S = 60.0  # time standing at another delivery's stop on the way (a clerk loading or taking files out)
DEFAULT_SPEED_MPS = 1.0  # the speed the dispatcher plans with (maps.planner.plan_route default)
ELEVATOR_WAIT_S = 30.0  # average wait for a car to arrive at the boarding floor, beyond door + travel time

MOVING_TO_PICKUP = frozenset({"assigned", "to_pickup"})
MOVING_TO_RECIPIENT = frozenset({"loaded", "in_transit"})


@dataclass(frozen=True)
class Remaining:
    """What is left to drive and ride, and how long that takes (hall seconds)."""

    time_s: float
    distance_m: float
    elevator_rides: int


@dataclass(frozen=True)
class Eta:
    target: str  # "pickup" (robot on its way to the sender) or "recipient" (files on their way)
    eta_s: float  # wall seconds from ``now``
    arrive_by: datetime
    distance_m: float
    elevator_rides: int


def _lane_limits(site: Site) -> dict[tuple[str, str], float]:
    limits: dict[tuple[str, str], float] = {}
    for lane in site.lanes:
        limits[(lane.from_id, lane.to_id)] = lane.speed_limit_mps
        if not lane.one_way:
            limits[(lane.to_id, lane.from_id)] = lane.speed_limit_mps
    return limits


def _ride_s(site: Site, a_id: str, b_id: str, a_level: int, b_level: int) -> float:
    """Door and travel time of the elevator whose car waypoints are ``a_id`` and ``b_id``."""
    for elevator in site.elevators:
        if elevator.car_waypoint.get(a_level) == a_id and elevator.car_waypoint.get(b_level) == b_id:
            return 2 * elevator.door_time_s + elevator.travel_time_per_floor_s * abs(b_level - a_level)
    raise SiteError(f"waypoints {a_id!r} (level {a_level}) and {b_id!r} (level {b_level}) are not one elevator's car")


def remaining(
    site: Site,
    waypoint_ids: Sequence[str],
    position: tuple[int, float, float] | None = None,
    *,
    speed_mps: float = DEFAULT_SPEED_MPS,
    elevator_wait_s: float = ELEVATOR_WAIT_S,
) -> Remaining:
    """Time, distance and rides along ``waypoint_ids`` (the robot's last passed waypoint first).

    ``position`` (level, x, y) is where the robot is now: when it is on the first waypoint's floor,
    the first leg is measured from there to the second waypoint instead of from the first one.
    Consecutive waypoints on two floors are an elevator ride (the car waypoints of one elevator).
    """
    if speed_mps <= 0:
        raise ValueError(f"speed_mps must be > 0, got {speed_mps}")
    if elevator_wait_s < 0:
        raise ValueError(f"elevator_wait_s must be >= 0, got {elevator_wait_s}")
    points = [site.waypoint(w) for w in waypoint_ids]
    limits = _lane_limits(site)
    time_s = distance_m = 0.0
    rides = 0
    for i, (a, b) in enumerate(zip(points, points[1:])):
        if a.level != b.level:
            rides += 1
            time_s += _ride_s(site, a.id, b.id, a.level, b.level) + elevator_wait_s
            continue
        if i == 0 and position is not None and position[0] == a.level:
            leg_m = math.hypot(b.x_m - position[1], b.y_m - position[2])
        else:
            leg_m = math.hypot(b.x_m - a.x_m, b.y_m - a.y_m)
        distance_m += leg_m
        time_s += leg_m / min(speed_mps, limits.get((a.id, b.id), math.inf))
    return Remaining(time_s, distance_m, rides)


def delivery_eta(
    site: Site,
    delivery_state: str,
    trip_waypoint_ids: Sequence[str],
    current_index: int | None,
    pickup_index: int | None,
    dest_index: int | None,
    now: datetime,
    position: tuple[int, float, float] | None = None,
    *,
    other_stops: Sequence[int] = (),
    speed_mps: float = DEFAULT_SPEED_MPS,
    elevator_wait_s: float = ELEVATOR_WAIT_S,
    handover_s: float = HANDOVER_S,
    time_scale: float = 1.0,
) -> Eta | None:
    """The arrival estimate of a delivery's robot, or None while nothing is on its way.

    On its way to the sender (assigned, to_pickup) the target is the pickup stop; with the files
    (loaded, in_transit) it is the recipient's stop. ``current_index`` is the trip node the robot
    reached last (None: not on the trip yet, e.g. it has not reported since the order went out).
    ``other_stops`` are the node indices of the other deliveries' stops on the same trip: each one
    after the robot's node and before the target adds ``handover_s``.
    """
    if time_scale <= 0:
        raise ValueError(f"time_scale must be > 0, got {time_scale}")
    if delivery_state in MOVING_TO_PICKUP:
        target, stop = "pickup", pickup_index
    elif delivery_state in MOVING_TO_RECIPIENT:
        target, stop = "recipient", dest_index
    else:
        return None
    if stop is None or current_index is None or current_index > stop:
        return None
    left = remaining(
        site,
        trip_waypoint_ids[current_index : stop + 1],
        position,
        speed_mps=speed_mps,
        elevator_wait_s=elevator_wait_s,
    )
    stops_between = sum(1 for i in other_stops if current_index < i < stop)
    eta_s = (left.time_s + stops_between * handover_s) / time_scale
    return Eta(target, eta_s, now + timedelta(seconds=eta_s), left.distance_m, left.elevator_rides)
