"""Arrival estimates of a delivery's robot from what is left of its trip (fleet_api.domain.eta)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleet_api.domain import eta
from maps.planner import plan_route
from maps.site import SiteError, load_site
from maps.testing import write_tiny_site

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DEMO_HALL = Path(__file__).resolve().parents[2] / "maps" / "demo_hall"
# the tiny site: a -8 m- b -8 m- c on level 1, a - lobby1 - car-E-1 (car lanes 0.5 m/s), elevator E to
# level 2 (doors 3 s, 4 s per floor), car-E-2 - lobby2 - a2 - b2 (16 m) on level 2
RIDE_S = 2 * 3.0 + 4.0


@pytest.fixture()
def tiny(tmp_path: Path):
    return load_site(write_tiny_site(tmp_path))


def test_same_floor_time_is_lane_length_at_robot_speed(tiny) -> None:
    left = eta.remaining(tiny, ["a", "b", "c"])
    assert left == eta.Remaining(time_s=pytest.approx(16.0), distance_m=pytest.approx(16.0), elevator_rides=0)


def test_lane_speed_limit_caps_a_faster_robot(tiny) -> None:
    assert eta.remaining(tiny, ["a", "b", "c"], speed_mps=2.0).time_s == pytest.approx(16.0)  # lanes: 1 m/s
    assert eta.remaining(tiny, ["a", "b", "c"], speed_mps=0.5).time_s == pytest.approx(32.0)


def test_with_no_elevator_wait_it_agrees_with_the_planner(tiny) -> None:
    route = plan_route(tiny, "c", "b2")
    left = eta.remaining(tiny, route.waypoint_ids, elevator_wait_s=0.0)
    assert left.time_s == pytest.approx(route.estimated_time_s)
    assert left.distance_m == pytest.approx(route.distance_m)
    assert left.elevator_rides == 1


def test_each_ride_ahead_adds_door_travel_and_the_wait(tiny) -> None:
    route = plan_route(tiny, "c", "b2")
    no_wait = eta.remaining(tiny, route.waypoint_ids, elevator_wait_s=0.0).time_s
    assert eta.remaining(tiny, route.waypoint_ids, elevator_wait_s=45.0).time_s == pytest.approx(no_wait + 45.0)
    in_car = eta.remaining(tiny, ["car-E-1", "car-E-2"], elevator_wait_s=20.0)
    assert in_car == eta.Remaining(time_s=pytest.approx(RIDE_S + 20.0), distance_m=0.0, elevator_rides=1)


def test_position_between_waypoints_counts_only_what_is_left(tiny) -> None:
    a, b = tiny.waypoint("a"), tiny.waypoint("b")
    halfway = (1, (a.x_m + b.x_m) / 2, (a.y_m + b.y_m) / 2)
    assert eta.remaining(tiny, ["a", "b", "c"], halfway).time_s == pytest.approx(12.0)
    other_floor = (2, a.x_m, a.y_m)  # a position on another floor is ignored, not mixed in
    assert eta.remaining(tiny, ["a", "b", "c"], other_floor).time_s == pytest.approx(16.0)


def test_at_the_last_waypoint_nothing_is_left(tiny) -> None:
    assert eta.remaining(tiny, ["c"]) == eta.Remaining(0.0, 0.0, 0)
    assert eta.remaining(tiny, []) == eta.Remaining(0.0, 0.0, 0)


def test_bad_inputs_are_refused(tiny) -> None:
    with pytest.raises(ValueError):
        eta.remaining(tiny, ["a", "b"], speed_mps=0.0)
    with pytest.raises(ValueError):
        eta.remaining(tiny, ["a", "b"], elevator_wait_s=-1.0)
    with pytest.raises(SiteError):
        eta.remaining(tiny, ["a", "nowhere"])


def _trip(tiny):
    """A delivery trip: robot starts at c, picks up at a (index 2), delivers at b2 (last index)."""
    to_pickup = plan_route(tiny, "c", "a").waypoint_ids
    to_dest = plan_route(tiny, "a", "b2").waypoint_ids
    ids = to_pickup + to_dest[1:]
    return ids, len(to_pickup) - 1, len(ids) - 1


@pytest.mark.parametrize("state", ["assigned", "to_pickup"])
def test_on_the_way_to_the_sender_the_target_is_the_pickup(tiny, state) -> None:
    ids, pickup, dest = _trip(tiny)
    estimate = eta.delivery_eta(tiny, state, ids, 0, pickup, dest, NOW)
    assert estimate is not None and estimate.target == "pickup"
    assert estimate.eta_s == pytest.approx(16.0)  # c -> b -> a
    assert estimate.arrive_by == NOW + timedelta(seconds=16.0)
    assert estimate.elevator_rides == 0


@pytest.mark.parametrize("state", ["loaded", "in_transit"])
def test_with_the_files_on_board_the_target_is_the_recipient(tiny, state) -> None:
    ids, pickup, dest = _trip(tiny)
    estimate = eta.delivery_eta(tiny, state, ids, pickup, pickup, dest, NOW, elevator_wait_s=30.0)
    expected = plan_route(tiny, "a", "b2").estimated_time_s + 30.0
    assert estimate is not None and estimate.target == "recipient"
    assert estimate.eta_s == pytest.approx(expected)
    assert estimate.elevator_rides == 1
    later = eta.delivery_eta(tiny, state, ids, dest - 1, pickup, dest, NOW, elevator_wait_s=30.0)
    assert later is not None and 0 < later.eta_s < estimate.eta_s  # closer: sooner


@pytest.mark.parametrize(
    "state",
    ["requested", "awaiting_load", "awaiting_recipient", "delivered", "cancelled", "returned_to_sender", "failed"],
)
def test_no_estimate_while_nothing_is_on_its_way(tiny, state) -> None:
    ids, pickup, dest = _trip(tiny)
    assert eta.delivery_eta(tiny, state, ids, 0, pickup, dest, NOW) is None


def test_no_estimate_without_a_known_position_on_the_trip(tiny) -> None:
    ids, pickup, dest = _trip(tiny)
    assert eta.delivery_eta(tiny, "in_transit", ids, None, pickup, dest, NOW) is None
    assert eta.delivery_eta(tiny, "to_pickup", ids, pickup + 1, pickup, dest, NOW) is None  # already past it
    assert eta.delivery_eta(tiny, "to_pickup", ids, 0, None, dest, NOW) is None


def test_a_faster_simulated_hall_divides_the_wall_clock_time(tiny) -> None:
    ids, pickup, dest = _trip(tiny)
    estimate = eta.delivery_eta(tiny, "to_pickup", ids, 0, pickup, dest, NOW, time_scale=4.0)
    assert estimate is not None and estimate.eta_s == pytest.approx(4.0)
    assert estimate.arrive_by == NOW + timedelta(seconds=4.0)
    with pytest.raises(ValueError):
        eta.delivery_eta(tiny, "to_pickup", ids, 0, pickup, dest, NOW, time_scale=0.0)


def test_demo_hall_window_to_third_floor_includes_one_ride_and_the_wait() -> None:
    site = load_site(DEMO_HALL)
    dept = next(p for p in site.places if p.kind == "department" and p.level == 3)
    route = plan_route(site, site.place("win-A02").waypoint_id, dept.waypoint_id)
    left = eta.remaining(site, route.waypoint_ids)
    assert left.elevator_rides == len(route.rides) == 1
    assert left.time_s == pytest.approx(route.estimated_time_s + eta.ELEVATOR_WAIT_S)


def test_on_a_shared_trip_each_delivery_counts_the_others_stops_before_its_own(tiny) -> None:
    """Two deliveries on one trip: one's recipient at b (index 1 of a -> b -> c), the other's at c."""
    ids = plan_route(tiny, "a", "c").waypoint_ids  # a, b, c
    first = eta.delivery_eta(tiny, "in_transit", ids, 0, 0, 1, NOW, other_stops=[0, 2], handover_s=60.0)
    second = eta.delivery_eta(tiny, "in_transit", ids, 0, 0, 2, NOW, other_stops=[0, 1], handover_s=60.0)
    assert first is not None and first.eta_s == pytest.approx(8.0), "nothing stops it before its recipient"
    assert second is not None and second.eta_s == pytest.approx(16.0 + 60.0), "the hand-over at b comes first"
    past_b = eta.delivery_eta(tiny, "in_transit", ids, 1, 0, 2, NOW, other_stops=[0, 1], handover_s=60.0)
    assert past_b is not None and past_b.eta_s == pytest.approx(8.0), "a stop already reached is not counted again"
