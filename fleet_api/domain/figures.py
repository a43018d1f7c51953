"""Service figures a hall manager shows: how fast files reach each place, how much walking the robots saved.

Pure computation over delivered deliveries. Turnaround is request (the delivery's creation) to
delivered, grouped by the receiving place. Walking saved is what a clerk would otherwise have
walked for each delivered trip: there and back between sender and recipient, at human walking
speed. The walking distance comes from a function (in the fleet: the site's lane-graph route
planner), so this module stays free of maps and I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from fleet_api.domain.deliveries import Delivery, DeliveryState

HUMAN_WALKING_SPEED_MPS = 1.2
CLERK_TRIPS_PER_DELIVERY = 2  # there and back: the clerk returns to their window or desk

# (sender place id, recipient place id) -> walking distance in metres; None when no route joins them.
WalkingDistance = Callable[[str, str], float | None]


@dataclass(frozen=True)
class PlaceFigures:
    place_id: str
    delivered: int
    median_turnaround_min: float
    p90_turnaround_min: float


@dataclass(frozen=True)
class ServiceFigures:
    places: list[PlaceFigures]  # receiving places, most deliveries first
    delivered: int
    walking_saved_m: float
    walking_saved_min: float
    unrouted: int  # delivered trips without a walking route: left out of the walking figures


def percentile(values: Iterable[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default): p90 of 1..10 is 9.1."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within [0, 1], got {fraction}")
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def delivered_at(d: Delivery) -> datetime:
    """When the files were handed over: the history's (last) delivered entry."""
    for entry in reversed(d.history):
        if entry.state is DeliveryState.DELIVERED:
            return entry.at
    raise ValueError(f"delivery {d.id} has no delivered entry in its history (state {d.state.value})")


def turnaround_min(d: Delivery) -> float:
    return (delivered_at(d) - d.created_at).total_seconds() / 60.0


def service_figures(
    deliveries: Iterable[Delivery],
    walking_distance_m: WalkingDistance,
    walking_speed_mps: float = HUMAN_WALKING_SPEED_MPS,
) -> ServiceFigures:
    """Figures over the delivered ones among ``deliveries`` (others are ignored)."""
    if walking_speed_mps <= 0:
        raise ValueError(f"walking_speed_mps must be > 0, got {walking_speed_mps}")
    by_place: dict[str, list[float]] = {}
    walked_m = 0.0
    unrouted = 0
    count = 0
    for d in deliveries:
        if d.state is not DeliveryState.DELIVERED:
            continue
        count += 1
        by_place.setdefault(d.recipient.place_id, []).append(turnaround_min(d))
        one_way_m = walking_distance_m(d.sender.place_id, d.recipient.place_id)
        if one_way_m is None:
            unrouted += 1
        else:
            walked_m += CLERK_TRIPS_PER_DELIVERY * one_way_m
    places = [
        PlaceFigures(place_id, len(minutes), median(minutes), percentile(minutes, 0.9))
        for place_id, minutes in by_place.items()
    ]
    places.sort(key=lambda p: (-p.delivered, p.place_id))
    return ServiceFigures(places, count, walked_m, walked_m / walking_speed_mps / 60.0, unrouted)
