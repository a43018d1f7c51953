"""The building model: floors, places, lane graph and elevators, read from ``<site>/building.yaml``.

Everything is validated at load time (unknown references, duplicate ids, places, waypoints or
lanes in walls) so the fleet never discovers a broken site mid-delivery. All problems are
collected; the SiteError message has one line per problem, each naming file and field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from maps.occupancy import OCCUPIED, MapError, OccupancyMap, load_occupancy_map

BUILDING_FILE = "building.yaml"

PLACE_KINDS = (
    "service_window",
    "pickup_window",
    "department",
    "waiting_zone",
    "charging_dock",
    "elevator_lobby",
    "parking",
    "queue_ticket_area",
)

DEFAULT_SPEED_LIMIT_MPS = 1.0
DEFAULT_LANE_WIDTH_M = 1.2


class SiteError(KeyError):
    """A site is invalid, or a lookup named something the site does not have.

    Subclasses KeyError so ``site.place("nope")`` reads like a dict miss, but prints plainly.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems if problems is not None else [message]

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Pose2D:
    x_m: float
    y_m: float
    yaw_rad: float = 0.0


@dataclass(frozen=True, eq=False)
class Floor:
    level: int
    map_id: str
    name_zh: str
    name_en: str
    elevation_m: float
    map: OccupancyMap


@dataclass(frozen=True)
class Place:
    id: str
    kind: str
    name_zh: str
    name_en: str
    level: int
    pose: Pose2D
    waypoint_id: str


@dataclass(frozen=True)
class Waypoint:
    id: str
    level: int
    x_m: float
    y_m: float


@dataclass(frozen=True)
class Lane:
    from_id: str
    to_id: str
    one_way: bool = False
    speed_limit_mps: float = DEFAULT_SPEED_LIMIT_MPS
    width_m: float = DEFAULT_LANE_WIDTH_M


@dataclass(frozen=True, eq=False)
class Elevator:
    id: str
    levels: tuple[int, ...]
    lobby_place: Mapping[int, str]
    car_waypoint: Mapping[int, str]
    door_time_s: float
    travel_time_per_floor_s: float
    capacity_robots: int


@dataclass(frozen=True, eq=False)
class Site:
    """A loaded, validated site. Hashable by identity (planners cache graphs per site)."""

    folder: Path
    name_zh: str
    name_en: str
    floors: tuple[Floor, ...]
    places: tuple[Place, ...]
    waypoints: tuple[Waypoint, ...]
    lanes: tuple[Lane, ...]
    elevators: tuple[Elevator, ...]
    _places: dict[str, Place] = field(init=False, repr=False)
    _waypoints: dict[str, Waypoint] = field(init=False, repr=False)
    _floors: dict[int, Floor] = field(init=False, repr=False)
    _elevators: dict[str, Elevator] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_places", {p.id: p for p in self.places})
        object.__setattr__(self, "_waypoints", {w.id: w for w in self.waypoints})
        object.__setattr__(self, "_floors", {f.level: f for f in self.floors})
        object.__setattr__(self, "_elevators", {e.id: e for e in self.elevators})

    def place(self, place_id: str) -> Place:
        try:
            return self._places[place_id]
        except KeyError:
            raise SiteError(f"unknown place '{place_id}'") from None

    def places_of_kind(self, kind: str) -> list[Place]:
        if kind not in PLACE_KINDS:
            raise SiteError(f"unknown place kind '{kind}' (known: {', '.join(PLACE_KINDS)})")
        return [p for p in self.places if p.kind == kind]

    def floor(self, level: int) -> Floor:
        try:
            return self._floors[level]
        except KeyError:
            raise SiteError(f"unknown floor level {level}") from None

    def map_id(self, level: int) -> str:
        return self.floor(level).map_id

    def waypoint(self, waypoint_id: str) -> Waypoint:
        try:
            return self._waypoints[waypoint_id]
        except KeyError:
            raise SiteError(f"unknown waypoint '{waypoint_id}'") from None

    def elevator(self, elevator_id: str) -> Elevator:
        try:
            return self._elevators[elevator_id]
        except KeyError:
            raise SiteError(f"unknown elevator '{elevator_id}'") from None

    def waypoints_on(self, level: int) -> list[Waypoint]:
        return [w for w in self.waypoints if w.level == level]

    def lanes_on(self, level: int) -> list[Lane]:
        return [ln for ln in self.lanes if self._waypoints[ln.from_id].level == level]


# ---------------------------------------------------------------------------------------------
# loading


class _Problems:
    """Collects 'building.yaml: field: what is wrong' lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.lines.append(f"{BUILDING_FILE}: {where}: {what}")


def _get(
    item: Any,
    key: str,
    where: str,
    kinds: type | tuple[type, ...],
    problems: _Problems,
    default: Any = ...,
) -> Any:
    """Read a typed field; record a problem and return None when missing or of the wrong type."""
    if not isinstance(item, dict):
        problems.add(where, f"expected a mapping, got {type(item).__name__}")
        return None
    if key not in item:
        if default is not ...:
            return default
        problems.add(f"{where}.{key}", "missing")
        return None
    value = item[key]
    numeric = kinds is float or (isinstance(kinds, tuple) and float in kinds)
    if numeric and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) and kinds is not bool:
        problems.add(f"{where}.{key}", f"expected {_kind_name(kinds)}, got {value!r}")
        return None
    if not isinstance(value, kinds):
        problems.add(f"{where}.{key}", f"expected {_kind_name(kinds)}, got {value!r}")
        return None
    return value


def _kind_name(kinds: type | tuple[type, ...]) -> str:
    names = {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
    }
    if isinstance(kinds, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kinds)
    return names.get(kinds, kinds.__name__)


def _list(doc: dict, key: str, problems: _Problems) -> list:
    value = doc.get(key, [])
    if not isinstance(value, list):
        problems.add(key, "expected a list")
        return []
    return value


def load_site(folder: str | Path) -> Site:
    """Load and validate ``folder/building.yaml`` and the floor maps it names."""
    folder = Path(folder)
    path = folder / BUILDING_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SiteError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SiteError(f"{BUILDING_FILE}: not UTF-8 text (byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        raise SiteError(f"{BUILDING_FILE}: not valid YAML: {yaml_error_line(exc)}") from exc
    if not isinstance(doc, dict):
        raise SiteError(f"{BUILDING_FILE}: expected a mapping at the top level")

    problems = _Problems()
    name = doc.get("name", {}) if isinstance(doc.get("name"), dict) else {}
    defaults = doc.get("lane_defaults", {}) or {}
    default_speed = _get(defaults, "speed_limit_mps", "lane_defaults", float, problems, DEFAULT_SPEED_LIMIT_MPS)
    default_width = _get(defaults, "width_m", "lane_defaults", float, problems, DEFAULT_LANE_WIDTH_M)

    floors_by_level = _load_floors(folder, _list(doc, "floors", problems), problems)
    floors = [f for f in floors_by_level.values() if f is not None]
    before_graph = len(problems.lines)
    waypoints = _load_waypoints(_list(doc, "waypoints", problems), floors_by_level, problems)
    wp_by_id = {w.id: w for w in waypoints}
    places = _load_places(_list(doc, "places", problems), floors_by_level, wp_by_id, problems)
    lanes = _load_lanes(
        _list(doc, "lanes", problems),
        floors_by_level,
        wp_by_id,
        default_speed or DEFAULT_SPEED_LIMIT_MPS,
        default_width or DEFAULT_LANE_WIDTH_M,
        problems,
    )
    graph_ok = len(problems.lines) == before_graph
    elevators = _load_elevators(
        _list(doc, "elevators", problems), floors_by_level, {p.id: p for p in places}, wp_by_id, problems
    )
    if graph_ok:  # a broken waypoint, place or lane would make many places look unreachable
        _check_reachable_from_lobbies(places, lanes, elevators, problems)
    if problems.lines:
        raise SiteError("\n".join(problems.lines), problems.lines)
    return Site(
        folder=folder,
        name_zh=str(name.get("zh", folder.name)),
        name_en=str(name.get("en", folder.name)),
        floors=tuple(floors),
        places=tuple(places),
        waypoints=tuple(waypoints),
        lanes=tuple(lanes),
        elevators=tuple(elevators),
    )


def _load_floors(folder: Path, items: list, problems: _Problems) -> dict[int, Floor | None]:
    """Floors by level; None for a declared floor whose map failed (reported once, not per use)."""
    floors: dict[int, Floor | None] = {}
    map_ids: set[str] = set()
    for i, item in enumerate(items):
        where = f"floors[{i}]"
        level = _get(item, "level", where, int, problems)
        map_id = _get(item, "map_id", where, str, problems)
        map_file = _get(item, "map", where, str, problems)
        elevation_m = _get(item, "elevation_m", where, float, problems, 0.0)
        name_zh = _get(item, "name_zh", where, str, problems, "")
        name_en = _get(item, "name_en", where, str, problems, "")
        if level is None or map_id is None or map_file is None:
            continue
        if level in floors:
            problems.add(f"{where}.level", f"duplicate level {level}")
            continue
        if map_id in map_ids:
            problems.add(f"{where}.map_id", f"duplicate map id '{map_id}'")
            continue
        map_ids.add(map_id)
        try:
            occupancy = load_occupancy_map(folder / map_file)
        except MapError as exc:
            problems.add(f"{where}.map", " ".join(str(exc).split()))  # YAML errors span lines
            floors[level] = None
            continue
        except UnicodeDecodeError as exc:
            problems.add(f"{where}.map", f"{Path(map_file).name}: not UTF-8 text (byte {exc.start})")
            floors[level] = None
            continue
        floors[level] = Floor(level, map_id, name_zh, name_en, elevation_m or 0.0, occupancy)
    if not items:
        problems.add("floors", "no floors")
    return floors


def _check_free(floor: Floor | None, x_m: float, y_m: float, where: str, what: str, problems: _Problems) -> None:
    if floor is None:
        return
    value = floor.map.value_xy(x_m, y_m)
    if value is None:
        problems.add(where, f"{what} at ({x_m:.2f}, {y_m:.2f}) is outside map '{floor.map_id}'")
    elif value == OCCUPIED:
        problems.add(where, f"{what} at ({x_m:.2f}, {y_m:.2f}) is inside a wall on '{floor.map_id}'")
    elif value != 0:
        problems.add(where, f"{what} at ({x_m:.2f}, {y_m:.2f}) is in unknown space on '{floor.map_id}'")


def _load_waypoints(items: list, floors: dict[int, Floor | None], problems: _Problems) -> list[Waypoint]:
    waypoints: list[Waypoint] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"waypoints[{i}]"
        wp_id = _get(item, "id", where, str, problems)
        level = _get(item, "level", where, int, problems)
        x_m = _get(item, "x", where, float, problems)
        y_m = _get(item, "y", where, float, problems)
        if None in (wp_id, level, x_m, y_m):
            continue
        if wp_id in seen:
            problems.add(f"{where}.id", f"duplicate waypoint id '{wp_id}'")
            continue
        seen.add(wp_id)
        if level not in floors:
            problems.add(f"{where}.level", f"unknown floor level {level}")
        _check_free(floors.get(level), x_m, y_m, where, f"waypoint '{wp_id}'", problems)
        waypoints.append(Waypoint(wp_id, level, x_m, y_m))
    return waypoints


def _load_places(
    items: list, floors: dict[int, Floor | None], waypoints: dict[str, Waypoint], problems: _Problems
) -> list[Place]:
    places: list[Place] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"places[{i}]"
        place_id = _get(item, "id", where, str, problems)
        kind = _get(item, "kind", where, str, problems)
        level = _get(item, "level", where, int, problems)
        pose = _get(item, "pose", where, list, problems)
        wp_id = _get(item, "waypoint", where, str, problems)
        name_zh = _get(item, "name_zh", where, str, problems)
        name_en = _get(item, "name_en", where, str, problems)
        if None in (place_id, kind, level, pose, wp_id, name_zh, name_en):
            continue
        if place_id in seen:
            problems.add(f"{where}.id", f"duplicate place id '{place_id}'")
            continue
        seen.add(place_id)
        if kind not in PLACE_KINDS:
            problems.add(f"{where}.kind", f"unknown kind '{kind}' (known: {', '.join(PLACE_KINDS)})")
        if level not in floors:
            problems.add(f"{where}.level", f"unknown floor level {level}")
        if len(pose) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pose):
            problems.add(f"{where}.pose", f"expected [x, y, yaw], got {pose!r}")
            continue
        wp = waypoints.get(wp_id)
        if wp is None:
            problems.add(f"{where}.waypoint", f"unknown waypoint '{wp_id}'")
        elif wp.level != level:
            problems.add(f"{where}.waypoint", f"waypoint '{wp_id}' is on level {wp.level}, place is on level {level}")
        _check_free(floors.get(level), float(pose[0]), float(pose[1]), f"{where}.pose", f"place '{place_id}'", problems)
        places.append(
            Place(
                place_id, kind, name_zh, name_en, level, Pose2D(float(pose[0]), float(pose[1]), float(pose[2])), wp_id
            )
        )
    return places


def _load_lanes(
    items: list,
    floors: dict[int, Floor | None],
    waypoints: dict[str, Waypoint],
    default_speed_mps: float,
    default_width_m: float,
    problems: _Problems,
) -> list[Lane]:
    lanes: list[Lane] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        where = f"lanes[{i}]"
        from_id = _get(item, "from", where, str, problems)
        to_id = _get(item, "to", where, str, problems)
        one_way = _get(item, "one_way", where, bool, problems, False)
        speed = _get(item, "speed_limit_mps", where, float, problems, default_speed_mps)
        width = _get(item, "width_m", where, float, problems, default_width_m)
        if None in (from_id, to_id, one_way, speed, width):
            continue
        ok = True
        for key, wp_id in (("from", from_id), ("to", to_id)):
            if wp_id not in waypoints:
                problems.add(f"{where}.{key}", f"unknown waypoint '{wp_id}'")
                ok = False
        if speed <= 0:
            problems.add(f"{where}.speed_limit_mps", f"must be > 0, got {speed}")
            ok = False
        if width <= 0:
            problems.add(f"{where}.width_m", f"must be > 0, got {width}")
            ok = False
        if not ok:
            continue
        if from_id == to_id:
            problems.add(f"{where}.to", f"lane from '{from_id}' to itself")
            continue
        key = (from_id, to_id) if one_way else tuple(sorted((from_id, to_id)))
        if key in seen:
            problems.add(where, f"duplicate lane '{from_id}' -> '{to_id}'")
            continue
        seen.add(key)  # type: ignore[arg-type]
        a, b = waypoints[from_id], waypoints[to_id]
        if a.level != b.level:
            problems.add(
                f"{where}.to",
                f"lane joins level {a.level} and level {b.level}; floors are joined by elevators, not lanes",
            )
            continue
        floor = floors.get(a.level)
        if floor is not None and not floor.map.segment_is_free(a.x_m, a.y_m, b.x_m, b.y_m):
            problems.add(where, f"lane '{from_id}' -> '{to_id}' crosses a wall or unknown space on '{floor.map_id}'")
        lanes.append(Lane(from_id, to_id, bool(one_way), speed, width))
    return lanes


def _level_map(item: dict, key: str, where: str, problems: _Problems) -> dict[int, str]:
    raw = _get(item, key, where, dict, problems)
    if raw is None:
        return {}
    out: dict[int, str] = {}
    for k, v in raw.items():
        try:
            level = int(k)
        except (TypeError, ValueError):
            problems.add(f"{where}.{key}", f"key {k!r} is not a floor level")
            continue
        if not isinstance(v, str):
            problems.add(f"{where}.{key}.{k}", f"expected an id, got {v!r}")
            continue
        out[level] = v
    return out


def _load_elevators(
    items: list,
    floors: dict[int, Floor | None],
    places: dict[str, Place],
    waypoints: dict[str, Waypoint],
    problems: _Problems,
) -> list[Elevator]:
    elevators: list[Elevator] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"elevators[{i}]"
        el_id = _get(item, "id", where, str, problems)
        levels = _get(item, "levels", where, list, problems)
        door_s = _get(item, "door_time_s", where, float, problems)
        travel_s = _get(item, "travel_time_per_floor_s", where, float, problems)
        capacity = _get(item, "capacity_robots", where, int, problems, 1)
        lobbies = _level_map(item, "lobby_place", where, problems) if isinstance(item, dict) else {}
        cars = _level_map(item, "car_waypoint", where, problems) if isinstance(item, dict) else {}
        if None in (el_id, levels, door_s, travel_s, capacity):
            continue
        if el_id in seen:
            problems.add(f"{where}.id", f"duplicate elevator id '{el_id}'")
            continue
        seen.add(el_id)
        if door_s < 0 or travel_s < 0:
            problems.add(where, "door_time_s and travel_time_per_floor_s must be >= 0")
        if capacity < 1:
            problems.add(f"{where}.capacity_robots", f"must be >= 1, got {capacity}")
        good_levels: list[int] = []
        for level in levels:
            if not isinstance(level, int) or isinstance(level, bool) or level not in floors:
                problems.add(f"{where}.levels", f"unknown floor level {level!r}")
                continue
            good_levels.append(level)
            lobby_id = lobbies.get(level)
            if lobby_id is None:
                problems.add(f"{where}.lobby_place", f"no lobby for level {level}")
            elif lobby_id not in places:
                problems.add(f"{where}.lobby_place.{level}", f"unknown place '{lobby_id}'")
            elif places[lobby_id].level != level:
                problems.add(f"{where}.lobby_place.{level}", f"place '{lobby_id}' is on level {places[lobby_id].level}")
            elif places[lobby_id].kind != "elevator_lobby":
                problems.add(
                    f"{where}.lobby_place.{level}",
                    f"place '{lobby_id}' is a {places[lobby_id].kind}, not an elevator_lobby",
                )
            car_id = cars.get(level)
            if car_id is None:
                problems.add(f"{where}.car_waypoint", f"no car waypoint for level {level}")
            elif car_id not in waypoints:
                problems.add(f"{where}.car_waypoint.{level}", f"unknown waypoint '{car_id}'")
            elif waypoints[car_id].level != level:
                problems.add(
                    f"{where}.car_waypoint.{level}", f"waypoint '{car_id}' is on level {waypoints[car_id].level}"
                )
        for level in set(lobbies) | set(cars):
            if level not in good_levels and level in floors:
                problems.add(where, f"lobby or car given for level {level}, which is not in levels")
        if len(good_levels) < 2:
            problems.add(f"{where}.levels", "an elevator must serve at least 2 floors")
        elevators.append(
            Elevator(
                id=el_id,
                levels=tuple(sorted(good_levels)),
                lobby_place={lv: lobbies[lv] for lv in good_levels if lv in lobbies},
                car_waypoint={lv: cars[lv] for lv in good_levels if lv in cars},
                door_time_s=door_s,
                travel_time_per_floor_s=travel_s,
                capacity_robots=capacity,
            )
        )
    return elevators


def _check_reachable_from_lobbies(
    places: list[Place], lanes: list[Lane], elevators: list[Elevator], problems: _Problems
) -> None:
    """Every place on a floor an elevator serves must be reachable by lanes from one of its
    lobbies, and must have a lane path back to one (else a robot that got there is trapped).

    The lane graph is directed (one-way lanes), so these are two searches, not a
    connected-components check. Floors without elevators are not checked: there is nothing to
    be reachable from.
    """
    by_id = {p.id: p for p in places}
    lobby_waypoints: dict[int, dict[str, str]] = {}  # level -> lobby waypoint -> lobby place id
    for elevator in elevators:
        for level, lobby_id in elevator.lobby_place.items():
            lobby = by_id.get(lobby_id)
            if lobby is not None and lobby.level == level:
                lobby_waypoints.setdefault(level, {})[lobby.waypoint_id] = lobby_id
    forward: dict[str, set[str]] = {}
    backward: dict[str, set[str]] = {}
    for lane in lanes:
        forward.setdefault(lane.from_id, set()).add(lane.to_id)
        backward.setdefault(lane.to_id, set()).add(lane.from_id)
        if not lane.one_way:
            forward.setdefault(lane.to_id, set()).add(lane.from_id)
            backward.setdefault(lane.from_id, set()).add(lane.to_id)
    reach = {
        level: (_reachable(starts, forward), _reachable(starts, backward)) for level, starts in lobby_waypoints.items()
    }
    for i, place in enumerate(places):
        if place.level not in reach:
            continue
        from_lobby, to_lobby = reach[place.level]
        lobbies = ", ".join(sorted(lobby_waypoints[place.level].values()))
        if place.waypoint_id not in from_lobby:
            problems.add(
                f"places[{i}].waypoint",
                f"place '{place.id}' (waypoint '{place.waypoint_id}') cannot be reached "
                f"by lanes from the elevator lobbies on level {place.level} ({lobbies})",
            )
        elif place.waypoint_id not in to_lobby:
            problems.add(
                f"places[{i}].waypoint",
                f"no lane path leads from place '{place.id}' (waypoint "
                f"'{place.waypoint_id}') back to the elevator lobbies on level "
                f"{place.level} ({lobbies})",
            )


def _reachable(starts: Mapping[str, str] | set[str], successors: dict[str, set[str]]) -> set[str]:
    seen = set(starts)
    frontier = list(seen)
    while frontier:
        for nxt in successors.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def yaml_error_line(exc: yaml.YAMLError) -> str:
    """A YAML parser error as one line: 'line L, column C: problem' (PyYAML's text spans lines)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return " ".join(str(exc).split())


def distance_m(a: Waypoint, b: Waypoint) -> float:
    """Straight-line distance between two waypoints on the same floor."""
    return math.hypot(a.x_m - b.x_m, a.y_m - b.y_m)
