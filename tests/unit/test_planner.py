"""Route planning on the lane graph, across floors by elevator."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from maps.planner import (
    ElevatorRide,
    FloorPath,
    LaneClearanceError,
    NoRouteError,
    floor_grid_planner,
    lane_clearance_problems,
    nearest_waypoint,
    plan_route,
    plan_route_between_places,
)
from maps.site import load_site
from maps.testing import tiny_building, write_tiny_site

DEMO_HALL = Path(__file__).resolve().parents[2] / "maps" / "demo_hall"


@pytest.fixture()
def tiny(tmp_path: Path):
    return load_site(write_tiny_site(tmp_path))


def _ids(segment: FloorPath) -> list[str]:
    return [w.id for w in segment.points]


def test_same_floor_route_follows_lanes(tiny) -> None:
    route = plan_route(tiny, "a", "c")
    assert len(route.segments) == 1
    (path,) = route.segments
    assert isinstance(path, FloorPath) and path.level == 1 and path.map_id == "f1"
    assert _ids(path) == ["a", "b", "c"]
    assert route.distance_m == pytest.approx(16.0)
    assert route.estimated_time_s == pytest.approx(16.0)  # 1 m/s, lanes allow 1 m/s


def test_lane_speed_limit_caps_the_robot_speed(tiny) -> None:
    fast = plan_route(tiny, "a", "c", speed_mps=2.0)
    assert fast.estimated_time_s == pytest.approx(16.0)  # lane default limit is 1.0 m/s
    assert fast.lower_bound_s == pytest.approx(8.0)  # distance at the robot's top speed


def test_cross_floor_route_rides_the_elevator(tiny) -> None:
    route = plan_route(tiny, "c", "b2")
    first, ride, last = route.segments
    assert isinstance(first, FloorPath) and isinstance(ride, ElevatorRide)
    assert isinstance(last, FloorPath)
    assert _ids(first) == ["c", "b", "a", "lobby1", "car-E-1"]  # ends AT the car
    assert _ids(last) == ["car-E-2", "lobby2", "a2", "b2"]  # starts AT the car
    assert (last.level, last.map_id) == (2, "f2")
    assert ride == ElevatorRide("E", 1, 2, "lobby1", "lobby2", "car-E-1", "car-E-2")
    lanes_m = 8 + 8 + 2 + 1.5 + 1.5 + 2 + 16
    assert route.distance_m == pytest.approx(lanes_m)
    ride_s = 2 * 3.0 + 4.0
    # the car lanes are limited to 0.5 m/s: 1.5 m each way costs 3 s instead of 1.5 s
    assert route.estimated_time_s == pytest.approx(lanes_m + 2 * 1.5 + ride_s)
    # the bound drives through free space (the door in the inner wall), not along the lanes
    straight_m = 2 * math.hypot(16.0, 3.5)  # c -> car on level 1, car -> b2 on level 2
    assert ride_s + straight_m - 0.15 <= route.lower_bound_s < lanes_m + ride_s


def test_one_way_lane_is_respected(tiny) -> None:
    forward = plan_route(tiny, "c", "d")
    assert _ids(forward.segments[0]) == ["c", "d"]
    back = plan_route(tiny, "d", "c")  # not d -> c: round through the door and the corridor
    assert _ids(back.segments[0]) == ["d", "a", "b", "c"]
    assert back.distance_m > forward.distance_m


def test_unreachable_goal_names_both_waypoints(tiny) -> None:
    with pytest.raises(NoRouteError, match="'a'.*'island'"):
        plan_route(tiny, "a", "island")
    with pytest.raises(NoRouteError, match="'island'.*'b2'"):
        plan_route(tiny, "island", "b2")


def test_route_between_places_and_nearest_waypoint(tiny) -> None:
    route = plan_route_between_places(tiny, "win-1", "dept-1")
    assert route.waypoint_ids[0] == "c" and route.waypoint_ids[-1] == "b2"
    assert nearest_waypoint(tiny, 1, 9.0, 4.5).id == "b"
    assert nearest_waypoint(tiny, 1, 2.0, 8.4).id == "lobby1"  # cars are not parking spots
    assert nearest_waypoint(tiny, 1, 2.0, 8.4, include_cars=True).id == "car-E-1"


# --------------------------------------------------------------------------- the demo hall


@pytest.fixture(scope="module")
def demo():
    return load_site(DEMO_HALL)


def test_every_department_is_reachable_from_service_windows(demo) -> None:
    windows = demo.places_of_kind("service_window")
    sample = windows[:: max(1, len(windows) // 6)] + [demo.place("pickup-1")]
    for window in sample:
        for dept in demo.places_of_kind("department"):
            route = plan_route_between_places(demo, window.id, dept.id, speed_mps=1.0)
            first, last = route.segments[0], route.segments[-1]
            assert first.points[0].id == window.waypoint_id
            assert last.points[-1].id == dept.waypoint_id
            rides = route.rides
            assert len(rides) == 1 and (rides[0].from_level, rides[0].to_level) == (1, dept.level)
            assert 0 < route.lower_bound_s <= route.estimated_time_s


def test_demo_route_up_to_level_3_uses_a_lobby_and_the_car(demo) -> None:
    route = plan_route_between_places(demo, "win-A01", "dept-ecology")
    first, ride, last = route.segments
    assert first.points[-1].id == ride.car_waypoint_from
    assert ride.car_waypoint_from.startswith(f"car-{ride.elevator_id}-L1")
    lobby = demo.place(f"lobby-{ride.elevator_id}-L1")
    assert ride.from_lobby_waypoint_id == lobby.waypoint_id
    assert last.points[0].id == ride.car_waypoint_to == f"car-{ride.elevator_id}-L3"
    assert last.map_id == "floor3"


# --------------------------------------------------------------------------- lower bound, radius


def test_lower_bound_is_free_space_at_top_speed_plus_rides(tiny) -> None:
    route = plan_route(tiny, "d", "b2", speed_mps=2.0, robot_radius_m=0.3)
    ride_s = 2 * 3.0 + 4.0 * 1  # door opens and closes, one floor of travel, zero waiting
    floor_m = 0.0
    for seg in route.segments:
        if isinstance(seg, FloorPath):
            a, b = seg.points[0], seg.points[-1]
            grid = floor_grid_planner(tiny, seg.level, 0.3)
            floor_m += grid.plan_xy((a.x_m, a.y_m), (b.x_m, b.y_m)).length_m
    assert route.lower_bound_s == pytest.approx(floor_m / 2.0 + ride_s)
    assert route.lower_bound_s < route.estimated_time_s


def test_lane_too_close_to_a_wall_for_the_radius_is_refused(tmp_path: Path) -> None:
    building = tiny_building()
    # a waypoint 0.2 m from the bottom wall: in free space (the loader accepts it) but a 0.3 m
    # robot would scrape the wall on the way there
    building["waypoints"].append({"id": "hug", "level": 1, "x": 5.0, "y": 0.45})
    building["lanes"].append({"from": "a", "to": "hug"})
    site = load_site(write_tiny_site(tmp_path, building))
    with pytest.raises(LaneClearanceError, match=r"lane 'a' -> 'hug' on level 1.*0\.30 m"):
        plan_route(site, "a", "hug")
    assert plan_route(site, "a", "hug", robot_radius_m=0.1).distance_m > 0
    problems = lane_clearance_problems(site, 0.3)
    assert len(problems) == 1 and "'a' -> 'hug'" in problems[0]
    assert lane_clearance_problems(site, 0.1) == []


def test_demo_lanes_keep_the_default_radius_clear(demo) -> None:
    assert lane_clearance_problems(demo) == []


def test_demo_lower_bounds_are_below_estimates_and_include_rides(demo) -> None:
    windows = demo.places_of_kind("service_window")
    depts = demo.places_of_kind("department")
    for window in windows[::8]:
        for dept in depts[::3]:
            route = plan_route_between_places(demo, window.id, dept.id, speed_mps=1.2)
            assert 0 < route.lower_bound_s <= route.estimated_time_s
            rides_s = 0.0
            for ride in route.rides:
                e = demo.elevator(ride.elevator_id)
                rides_s += 2 * e.door_time_s + e.travel_time_per_floor_s * abs(ride.to_level - ride.from_level)
            assert rides_s > 0
            crow_m = sum(
                math.hypot(s.points[-1].x_m - s.points[0].x_m, s.points[-1].y_m - s.points[0].y_m)
                for s in route.segments
                if isinstance(s, FloorPath)
            )
            # never faster than flying straight at top speed plus riding with zero waiting
            # (less a cell's diagonal per segment: grid paths run between cell centres)
            legs = sum(1 for s in route.segments if isinstance(s, FloorPath))
            assert route.lower_bound_s >= rides_s + (crow_m - 0.071 * legs) / 1.2
    # same floor: no ride in the bound
    same = plan_route_between_places(demo, "win-A01", "pickup-1", speed_mps=1.0)
    assert same.rides == [] and 0 < same.lower_bound_s <= same.estimated_time_s
