"""Cross-floor route planning on the site's lane graph (Dijkstra on travel time).

Robots drive lanes, not free space, in a hall full of visitors, so routes are lane-graph paths.
Floors are joined by elevator rides: the car waypoints of one elevator on two levels are linked
with cost 2 * door_time_s + travel_time_per_floor_s * |dlevel| (zero waiting; the elevator
arbiter adds real waits later).

Every lane a route uses must keep the robot's radius clear of walls and unknown space
(LaneClearanceError otherwise). The route's physical lower bound uses the free space, not the
lanes: per floor segment the shortest clear 8-connected grid path between its ends (see
maps.grid_planner; never more than the lane path itself) at the robot's top speed, plus each
ride's door and travel time with zero waiting.
"""

from __future__ import annotations

import heapq
import itertools
import math
import weakref
from dataclasses import dataclass

from maps.grid_planner import GridPlanner, NoGridPathError
from maps.site import Place, Site, SiteError, Waypoint

__all__ = [
    "DEFAULT_ROBOT_RADIUS_M",
    "ElevatorRide",
    "FloorPath",
    "LaneClearanceError",
    "NoRouteError",
    "Route",
    "floor_grid_planner",
    "lane_clearance_problems",
    "nearest_waypoint",
    "plan_route",
    "plan_route_between_places",
]


DEFAULT_ROBOT_RADIUS_M = 0.3


class NoRouteError(Exception):
    """No lane/elevator path joins the two waypoints."""


class LaneClearanceError(NoRouteError):
    """A lane on the route passes closer to a wall or unknown space than the robot's radius."""


@dataclass(frozen=True)
class FloorPath:
    level: int
    map_id: str
    points: list[Waypoint]


@dataclass(frozen=True)
class ElevatorRide:
    elevator_id: str
    from_level: int
    to_level: int
    from_lobby_waypoint_id: str
    to_lobby_waypoint_id: str
    car_waypoint_from: str
    car_waypoint_to: str


Segment = FloorPath | ElevatorRide


@dataclass(frozen=True)
class Route:
    """Alternating floor paths and elevator rides, with distance and time figures."""

    segments: list[Segment]
    distance_m: float
    estimated_time_s: float
    lower_bound_s: float

    @property
    def waypoint_ids(self) -> list[str]:
        """All waypoints in driving order (car waypoints appear once per floor)."""
        return [w.id for s in self.segments if isinstance(s, FloorPath) for w in s.points]

    @property
    def rides(self) -> list[ElevatorRide]:
        return [s for s in self.segments if isinstance(s, ElevatorRide)]


@dataclass(frozen=True)
class _Edge:
    to_id: str
    length_m: float  # 0 for elevator rides
    speed_limit_mps: float  # inf for elevator rides
    ride_s: float  # elevator door + travel time; 0 for lanes
    elevator_id: str | None


_GRAPHS: weakref.WeakKeyDictionary[Site, dict[str, list[_Edge]]] = weakref.WeakKeyDictionary()
_GRID_PLANNERS: weakref.WeakKeyDictionary[Site, dict[tuple[int, float], GridPlanner]] = weakref.WeakKeyDictionary()


def floor_grid_planner(site: Site, level: int, robot_radius_m: float) -> GridPlanner:
    """The floor's grid planner for one robot radius, built once and cached on the site."""
    planners = _GRID_PLANNERS.setdefault(site, {})
    key = (level, round(float(robot_radius_m), 6))
    planner = planners.get(key)
    if planner is None:
        planner = GridPlanner.from_occupancy(site.floor(level).map, robot_radius_m)
        planners[key] = planner
    return planner


def _lane_problem(site: Site, a: Waypoint, b: Waypoint, robot_radius_m: float) -> str | None:
    planner = floor_grid_planner(site, a.level, robot_radius_m)
    if planner.segment_is_clear_xy(a.x_m, a.y_m, b.x_m, b.y_m):
        return None
    return (
        f"lane '{a.id}' -> '{b.id}' on level {a.level} ({a.x_m:.2f}, {a.y_m:.2f}) -> "
        f"({b.x_m:.2f}, {b.y_m:.2f}) passes within {robot_radius_m:.2f} m (robot radius) "
        f"of a wall or unknown space on map '{site.map_id(a.level)}'"
    )


def lane_clearance_problems(site: Site, robot_radius_m: float = DEFAULT_ROBOT_RADIUS_M) -> list[str]:
    """One line per lane that does not keep ``robot_radius_m`` clear (empty when all do)."""
    problems = []
    for lane in site.lanes:
        problem = _lane_problem(site, site.waypoint(lane.from_id), site.waypoint(lane.to_id), robot_radius_m)
        if problem is not None:
            problems.append(problem)
    return problems


def _graph(site: Site) -> dict[str, list[_Edge]]:
    graph = _GRAPHS.get(site)
    if graph is not None:
        return graph
    graph = {w.id: [] for w in site.waypoints}
    for lane in site.lanes:
        a, b = site.waypoint(lane.from_id), site.waypoint(lane.to_id)
        length = math.hypot(a.x_m - b.x_m, a.y_m - b.y_m)
        graph[a.id].append(_Edge(b.id, length, lane.speed_limit_mps, 0.0, None))
        if not lane.one_way:
            graph[b.id].append(_Edge(a.id, length, lane.speed_limit_mps, 0.0, None))
    for elevator in site.elevators:
        for la, lb in itertools.permutations(elevator.car_waypoint, 2):
            ride_s = 2 * elevator.door_time_s + elevator.travel_time_per_floor_s * abs(la - lb)
            graph[elevator.car_waypoint[la]].append(
                _Edge(elevator.car_waypoint[lb], 0.0, math.inf, ride_s, elevator.id)
            )
    _GRAPHS[site] = graph
    return graph


def plan_route(
    site: Site,
    from_waypoint_id: str,
    to_waypoint_id: str,
    speed_mps: float = 1.0,
    *,
    robot_radius_m: float = DEFAULT_ROBOT_RADIUS_M,
) -> Route:
    """Fastest route between two waypoints (any floors) at ``speed_mps`` under lane limits.

    Raises NoRouteError naming both waypoints when none joins them, and LaneClearanceError
    when a lane on the route does not keep ``robot_radius_m`` clear of walls.
    """
    if speed_mps <= 0:
        raise ValueError(f"speed_mps must be > 0, got {speed_mps}")
    if robot_radius_m < 0:
        raise ValueError(f"robot_radius_m must be >= 0, got {robot_radius_m}")
    start = site.waypoint(from_waypoint_id)
    goal = site.waypoint(to_waypoint_id)
    graph = _graph(site)

    best: dict[str, float] = {start.id: 0.0}
    came: dict[str, tuple[str, _Edge]] = {}
    heap: list[tuple[float, int, str]] = [(0.0, 0, start.id)]
    counter = itertools.count(1)
    done: set[str] = set()
    while heap:
        cost, _, node = heapq.heappop(heap)
        if node in done:
            continue
        if node == goal.id:
            break
        done.add(node)
        for edge in graph[node]:
            if edge.to_id in done:
                continue
            step = edge.ride_s + edge.length_m / min(speed_mps, edge.speed_limit_mps)
            new = cost + step
            if new < best.get(edge.to_id, math.inf):
                best[edge.to_id] = new
                came[edge.to_id] = (node, edge)
                heapq.heappush(heap, (new, next(counter), edge.to_id))
    if goal.id not in best:
        raise NoRouteError(
            f"no route from waypoint '{start.id}' (level {start.level}) to waypoint '{goal.id}' (level {goal.level})"
        )

    hops: list[tuple[str, _Edge]] = []
    node = goal.id
    while node != start.id:
        prev, edge = came[node]
        hops.append((prev, edge))
        node = prev
    hops.reverse()
    route = _build_route(site, start, hops, best[goal.id], speed_mps)
    return _with_clearance_and_bound(site, route, speed_mps, robot_radius_m)


def _with_clearance_and_bound(site: Site, route: Route, speed_mps: float, robot_radius_m: float) -> Route:
    """Check every lane of the route against the radius; replace the bound by the grid one."""
    bound_s = 0.0
    for segment in route.segments:
        if isinstance(segment, ElevatorRide):
            elevator = site.elevator(segment.elevator_id)
            bound_s += 2 * elevator.door_time_s + elevator.travel_time_per_floor_s * abs(
                segment.to_level - segment.from_level
            )
            continue
        lane_m = 0.0
        for a, b in zip(segment.points, segment.points[1:]):
            problem = _lane_problem(site, a, b, robot_radius_m)
            if problem is not None:
                raise LaneClearanceError(problem)
            lane_m += math.hypot(b.x_m - a.x_m, b.y_m - a.y_m)
        if len(segment.points) < 2:
            continue
        first, last = segment.points[0], segment.points[-1]
        planner = floor_grid_planner(site, segment.level, robot_radius_m)
        try:
            grid_m = planner.plan_xy((first.x_m, first.y_m), (last.x_m, last.y_m)).length_m
        except NoGridPathError as exc:  # the lanes joined them, so the map must too
            raise LaneClearanceError(
                f"waypoints '{first.id}' and '{last.id}' on level {segment.level} are joined by "
                f"lanes but not by free space for radius {robot_radius_m:.2f} m: {exc}"
            ) from exc
        # the lane path is itself a clear path, so the shortest one is never longer
        bound_s += min(grid_m, lane_m) / speed_mps
    return Route(
        segments=route.segments,
        distance_m=route.distance_m,
        estimated_time_s=route.estimated_time_s,
        lower_bound_s=bound_s,
    )


def _build_route(site: Site, start: Waypoint, hops: list[tuple[str, _Edge]], time_s: float, speed_mps: float) -> Route:
    segments: list[Segment] = []
    points: list[Waypoint] = [start]
    distance = 0.0
    ride_s = 0.0
    pending: tuple[str, str, str] | None = None  # (elevator, from car, boarding lobby waypoint)
    for prev_id, edge in hops:
        if edge.elevator_id is not None:
            ride_s += edge.ride_s
            if pending is None:
                lobby = points[-2].id if len(points) >= 2 else points[-1].id
                segments.append(_floor_path(site, points))
                pending = (edge.elevator_id, prev_id, lobby)
            points = [site.waypoint(edge.to_id)]
            continue
        if pending is not None:
            segments.append(_ride(site, pending, points[0].id, edge.to_id))
            pending = None
        distance += edge.length_m
        points.append(site.waypoint(edge.to_id))
    if pending is not None:  # route ends inside a car
        segments.append(_ride(site, pending, points[0].id, points[0].id))
    segments.append(_floor_path(site, points))
    return Route(
        segments=segments,
        distance_m=distance,
        estimated_time_s=time_s,
        lower_bound_s=distance / speed_mps + ride_s,
    )


def _floor_path(site: Site, points: list[Waypoint]) -> FloorPath:
    level = points[0].level
    return FloorPath(level=level, map_id=site.map_id(level), points=list(points))


def _ride(site: Site, pending: tuple[str, str, str], car_to: str, lobby_to: str) -> ElevatorRide:
    elevator_id, car_from, lobby_from = pending
    return ElevatorRide(
        elevator_id=elevator_id,
        from_level=site.waypoint(car_from).level,
        to_level=site.waypoint(car_to).level,
        from_lobby_waypoint_id=lobby_from,
        to_lobby_waypoint_id=lobby_to,
        car_waypoint_from=car_from,
        car_waypoint_to=car_to,
    )


def plan_route_between_places(
    site: Site,
    from_place_id: str,
    to_place_id: str,
    speed_mps: float = 1.0,
    *,
    robot_radius_m: float = DEFAULT_ROBOT_RADIUS_M,
) -> Route:
    """Route between two places' waypoints; NoRouteError names the places."""
    a: Place = site.place(from_place_id)
    b: Place = site.place(to_place_id)
    try:
        return plan_route(site, a.waypoint_id, b.waypoint_id, speed_mps, robot_radius_m=robot_radius_m)
    except NoRouteError as exc:
        raise type(exc)(f"no route from place '{a.id}' to place '{b.id}': {exc}") from exc


def nearest_waypoint(site: Site, level: int, x_m: float, y_m: float, include_cars: bool = False) -> Waypoint:
    """Closest waypoint on a floor (elevator car waypoints excluded unless asked)."""
    site.floor(level)
    cars = set()
    if not include_cars:
        cars = {wp for e in site.elevators for wp in e.car_waypoint.values()}
    candidates = [w for w in site.waypoints_on(level) if w.id not in cars]
    if not candidates:
        raise SiteError(f"no waypoints on level {level}")
    return min(candidates, key=lambda w: (w.x_m - x_m) ** 2 + (w.y_m - y_m) ** 2)
