"""``GET /api/figures``: per-place turnaround and clerk walking saved, over delivered deliveries.

A plain ``def`` route: it only reads the store and the (immutable) site, so it runs in the thread
pool and a long history never stalls the event loop that drives the robots.
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from fleet_api.domain.deliveries import DeliveryState
from fleet_api.domain.figures import HUMAN_WALKING_SPEED_MPS, WalkingDistance, service_figures
from maps.planner import NoRouteError, plan_route_between_places
from maps.site import Site, SiteError

router = APIRouter(prefix="/api")

# Walking distances per site and place pair: the same few window/department pairs recur all day.
_DISTANCES: weakref.WeakKeyDictionary[Site, dict[tuple[str, str], float | None]] = weakref.WeakKeyDictionary()
_DISTANCES_LOCK = threading.Lock()


def walking_distance(site: Site) -> WalkingDistance:
    """One-way distance between two places along the site's lanes (the planner's route); None if none."""
    with _DISTANCES_LOCK:
        cache = _DISTANCES.setdefault(site, {})

    def distance_m(from_place: str, to_place: str) -> float | None:
        key = (from_place, to_place)
        if key not in cache:
            try:
                cache[key] = plan_route_between_places(site, from_place, to_place).distance_m
            except (NoRouteError, SiteError):
                cache[key] = None
        return cache[key]

    return distance_m


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise HTTPException(422, f"query parameter {name}={value.isoformat()}: give a timezone, e.g. +08:00 or Z")
    return value


@router.get("/figures")
def figures(
    request: Request,
    since: Annotated[
        datetime | None, Query(description="only deliveries requested at or after this time (ISO 8601 with timezone)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="only deliveries requested before this time (ISO 8601 with timezone)")
    ] = None,
) -> dict[str, Any]:
    """Turnaround (request to delivered: median, p90, minutes) per receiving place, and walking saved."""
    since, until = _aware("since", since), _aware("until", until)
    if since is not None and until is not None and since >= until:
        raise HTTPException(422, f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    service = request.app.state.runtime.service
    site: Site = service.site
    delivered = service.store.list_deliveries(
        states=[DeliveryState.DELIVERED], limit=None, newest_first=False, created_from=since, created_before=until
    )
    result = service_figures(delivered, walking_distance(site))
    places = []
    for p in result.places:
        try:
            place = site.place(p.place_id)
            names = {"kind": place.kind, "name_zh": place.name_zh, "name_en": place.name_en, "level": place.level}
        except SiteError:  # a place removed from the site since: keep its figures under its id
            names = {"kind": None, "name_zh": p.place_id, "name_en": p.place_id, "level": None}
        places.append(
            {
                "place_id": p.place_id,
                **names,
                "delivered": p.delivered,
                "median_turnaround_min": round(p.median_turnaround_min, 2),
                "p90_turnaround_min": round(p.p90_turnaround_min, 2),
            }
        )
    return {
        "departments": places,
        "delivered": result.delivered,
        "walking_saved_m": round(result.walking_saved_m, 1),
        "walking_saved_min": round(result.walking_saved_min, 1),
        "walking_speed_mps": HUMAN_WALKING_SPEED_MPS,
        "unrouted": result.unrouted,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
