"""Which waiting deliveries ride along on one trip (fleet_api/domain/batching.py).

Most cases use a made-up corridor (waypoint "x<metres>" at that many metres along it, 1 m/s) so
every figure is easy to check by hand; the last ones use the demo hall's planned routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_api.domain.batching import Batch, BatchRule, Job, Leg, plan_batch
from maps.planner import NoRouteError, plan_route
from maps.site import Site, load_site

DEMO_HALL = Path(__file__).resolve().parents[2] / "maps" / "demo_hall"


def corridor(a: str, b: str) -> Leg | None:
    """Waypoints ``x<m>`` along one corridor at 1 m/s; ``nowhere`` cannot be reached."""
    if "nowhere" in (a, b):
        return None
    metres = abs(float(a[1:]) - float(b[1:]))
    return Leg(metres, metres)


def job(
    delivery_id: str,
    pickup_m: float,
    dest_m: float,
    *,
    urgent: bool = False,
    dest_level: int = 3,
    pickup_level: int = 1,
    dest: str | None = None,
) -> Job:
    return Job(delivery_id, f"x{pickup_m:g}", dest or f"x{dest_m:g}", pickup_level, dest_level, urgent)


def stops(batch: Batch) -> list[tuple[str, str, str]]:
    return [(s.delivery_id, s.kind, s.waypoint_id) for s in batch.stops]


def test_files_from_one_window_to_one_department_ride_together() -> None:
    batch = plan_batch(job("D1", 0, 100), [job("D2", 0, 100)], 4, corridor)
    assert batch.delivery_ids == ("D1", "D2")
    assert stops(batch) == [
        ("D1", "load", "x0"),
        ("D2", "load", "x0"),
        ("D1", "unload", "x100"),
        ("D2", "unload", "x100"),
    ]
    assert batch.detour_m == 0 and batch.detour_s == 0


def test_a_destination_a_little_further_joins_and_is_visited_after_the_lead() -> None:
    batch = plan_batch(job("D1", 0, 100), [job("D2", 0, 120)], 4, corridor)
    assert batch.delivery_ids == ("D1", "D2")
    assert [s for s in stops(batch) if s[1] == "unload"] == [("D1", "unload", "x100"), ("D2", "unload", "x120")]
    assert batch.detour_m == pytest.approx(20.0)


def test_a_destination_on_the_way_is_handed_over_first() -> None:
    batch = plan_batch(job("D1", 0, 100), [job("D2", 0, 60)], 4, corridor)
    assert [s for s in stops(batch) if s[1] == "unload"] == [("D2", "unload", "x60"), ("D1", "unload", "x100")]
    assert batch.detour_m == 0


def test_a_pickup_on_the_way_comes_after_the_leads_pickup() -> None:
    batch = plan_batch(job("D1", 0, 100), [job("D2", 10, 100)], 4, corridor)
    assert stops(batch)[:2] == [("D1", "load", "x0"), ("D2", "load", "x10")]
    assert batch.detour_m == 0


def test_more_than_30_percent_longer_does_not_fit() -> None:
    batch = plan_batch(job("D1", 0, 100), [job("D2", 0, 131)], 4, corridor)
    assert batch.delivery_ids == ("D1",) and batch.detour_m == 0
    assert plan_batch(job("D1", 0, 100), [job("D2", 0, 130)], 4, corridor).delivery_ids == ("D1", "D2")


def test_the_metre_cap_holds_even_within_30_percent() -> None:
    lead = job("D1", 0, 1000)
    assert plan_batch(lead, [job("D2", 0, 1041)], 4, corridor).delivery_ids == ("D1",)
    assert plan_batch(lead, [job("D2", 0, 1040)], 4, corridor).delivery_ids == ("D1", "D2")
    assert plan_batch(lead, [job("D2", 0, 1100)], 4, corridor, BatchRule(max_detour_m=100.0)).delivery_ids == (
        "D1",
        "D2",
    )


def test_the_detour_is_counted_for_the_whole_tour_not_per_delivery() -> None:
    """Each of these alone would fit; together they would make the lead 40 % later."""
    batch = plan_batch(job("D1", 0, 100), [job("D2", 0, 120), job("D3", 0, 140)], 4, corridor)
    assert batch.delivery_ids == ("D1", "D2") and batch.detour_m == pytest.approx(20.0)


def test_an_urgent_lead_rides_alone() -> None:
    batch = plan_batch(job("U", 0, 100, urgent=True), [job("D2", 0, 100)], 4, corridor)
    assert batch.delivery_ids == ("U",)
    assert stops(batch) == [("U", "load", "x0"), ("U", "unload", "x100")]


def test_an_urgent_delivery_never_rides_along_on_a_normal_trip() -> None:
    batch = plan_batch(job("D1", 0, 100), [job("U", 0, 100, urgent=True), job("D3", 0, 100)], 4, corridor)
    assert batch.delivery_ids == ("D1", "D3")


def test_no_more_deliveries_than_free_compartments_oldest_first() -> None:
    waiting = [job("D2", 0, 100), job("D3", 0, 100), job("D4", 0, 100)]
    assert plan_batch(job("D1", 0, 100), waiting, 2, corridor).delivery_ids == ("D1", "D2")
    assert plan_batch(job("D1", 0, 100), waiting, 1, corridor).delivery_ids == ("D1",)


def test_no_extra_elevator_ride_another_floor_waits() -> None:
    waiting = [job("D2", 0, 100, dest_level=2), job("D3", 0, 100, pickup_level=2)]
    assert plan_batch(job("D1", 0, 100), waiting, 4, corridor).delivery_ids == ("D1",)


def test_no_route_for_the_lead_is_none_and_a_candidate_without_one_is_skipped() -> None:
    assert plan_batch(job("D1", 0, 0, dest="nowhere"), [], 4, corridor) is None
    batch = plan_batch(job("D1", 0, 100), [job("D2", 0, 0, dest="nowhere"), job("D3", 0, 100)], 4, corridor)
    assert batch.delivery_ids == ("D1", "D3")


def test_the_lead_itself_is_not_counted_twice() -> None:
    lead = job("D1", 0, 100)
    assert plan_batch(lead, [lead, job("D2", 0, 100)], 2, corridor).delivery_ids == ("D1", "D2")


def test_the_drive_to_the_lead_counts_in_what_the_lead_waits_for() -> None:
    """From x-100 the lead's files arrive after 200 s alone, so 20 s more for D2 is 10 %: it fits;
    counted from the pickup alone (100 s) it would be 20 %, and 40 s more would not fit."""
    lead = job("D1", 0, 100)
    assert plan_batch(lead, [job("D2", 0, 140)], 4, corridor).delivery_ids == ("D1",)
    batch = plan_batch(lead, [job("D2", 0, 140)], 4, corridor, start_waypoint="x-100")
    assert batch.delivery_ids == ("D1", "D2") and batch.lead_s == 200 and batch.tour_s == 240


def test_bounds_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        BatchRule(max_detour_ratio=-0.1)


# ----------------------------------------------------------------------------- on the demo hall
@pytest.fixture(scope="module")
def hall() -> Site:
    return load_site(DEMO_HALL)


def hall_job(hall: Site, delivery_id: str, sender: str, recipient: str) -> Job:
    s, r = hall.place(sender), hall.place(recipient)
    return Job(delivery_id, s.waypoint_id, r.waypoint_id, s.level, r.level)


def hall_leg(hall: Site):
    def leg(a: str, b: str) -> Leg | None:
        try:
            route = plan_route(hall, a, b)
        except NoRouteError:
            return None
        return Leg(route.distance_m, route.estimated_time_s)

    return leg


def test_hall_window_a01_to_hr_takes_planning_along_but_not_ecology(hall: Site) -> None:
    """A robot at dock 1: planning is next to HR on floor 3; ecology is at the far end of the floor."""
    lead = hall_job(hall, "D1", "win-A01", "dept-hrss")
    planning = hall_job(hall, "D2", "win-A01", "dept-planning")
    ecology = hall_job(hall, "D3", "win-A01", "dept-ecology")
    dock = hall.place("dock-1").waypoint_id
    batch = plan_batch(lead, [ecology, planning], 4, hall_leg(hall), start_waypoint=dock)
    assert batch.delivery_ids == ("D1", "D2")
    assert 0 < batch.detour_s <= 0.30 * batch.lead_s and batch.detour_m <= 40.0
    assert batch.lead_s == pytest.approx(
        plan_route(hall, dock, lead.pickup_waypoint).estimated_time_s
        + plan_route(hall, lead.pickup_waypoint, lead.dest_waypoint).estimated_time_s
    )


def test_hall_neighbouring_window_is_a_pickup_on_the_way_but_a_far_hall_is_not(hall: Site) -> None:
    lead = hall_job(hall, "D1", "win-A01", "dept-hrss")
    next_door = hall_job(hall, "D2", "win-A02", "dept-hrss")
    far = hall_job(hall, "D3", "win-F06", "dept-hrss")
    batch = plan_batch(lead, [far, next_door], 4, hall_leg(hall), start_waypoint=hall.place("dock-1").waypoint_id)
    assert batch.delivery_ids == ("D1", "D2")
