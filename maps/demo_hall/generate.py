"""Generate the demo hall: 4 floor maps (PGM + map_server YAML) and building.yaml.

A district administrative service centre (一网通办 hall) in Shanghai, 60 m x 40 m per floor at
0.05 m per cell. Deterministic: running it twice gives identical files.

  level 1  public hall: queue-ticket area, waiting zones A-D, 56 service windows in zones A-F on
           three counters, 2 pickup windows; west wing with elevators E1/E2, charging docks and
           robot parking.
  level 2-4  back offices: central corridor with rooms north and south (doors onto the corridor),
           15 approval departments; the same west wing elevator lobby on every floor.

Run:  python maps/demo_hall/generate.py   (writes next to this file)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RES_M = 0.05
WIDTH_M = 60.0
HEIGHT_M = 40.0
WALL_M = 0.3
COLS = int(round(WIDTH_M / RES_M))
ROWS = int(round(HEIGHT_M / RES_M))
FREE_PX = 254
OCC_PX = 0

N, S, E, W = math.pi / 2, -math.pi / 2, 0.0, math.pi

# the elevator core on the west wall, identical on every floor
ELEVATORS = {
    "E1": {"car_y": 23.75, "door_time_s": 4.0, "travel_time_per_floor_s": 3.0, "capacity": 1},
    "E2": {"car_y": 16.25, "door_time_s": 4.0, "travel_time_per_floor_s": 3.0, "capacity": 2},
}
CAR_X = 1.55
LOBBY_X = 4.5
SPINE_X = 6.0

WINDOW_ZONES = [  # zone, count, name_zh, name_en
    ("A", 14, "综合受理窗口", "General Acceptance Window"),
    ("B", 10, "社会事务受理窗口", "Social Affairs Window"),
    ("C", 10, "人社医保窗口", "Social Security Window"),
    ("D", 8, "户籍证照窗口", "Household and ID Window"),
    ("E", 8, "不动产登记窗口", "Real Estate Window"),
    ("F", 6, "企业服务窗口", "Enterprise Services Window"),
]

DEPARTMENTS = {  # level -> [(id, name_zh, name_en, room)] ; room "N1".."N5" north, "S1".."S5" south
    2: [
        ("dept-market", "市场监管审批科", "Market Regulation Approval Section", "N1"),
        ("dept-construction", "建设交通审批科", "Construction and Transport Approval Section", "N2"),
        ("dept-social", "社会事务审批科", "Social Affairs Approval Section", "N3"),
        ("dept-health", "卫生健康审批科", "Health Approval Section", "S1"),
        ("dept-civil", "民政审批科", "Civil Affairs Approval Section", "S3"),
    ],
    3: [
        ("dept-hrss", "人力社保审批科", "Human Resources and Social Security Approval Section", "N1"),
        ("dept-planning", "规划资源审批科", "Planning and Natural Resources Approval Section", "N2"),
        ("dept-ecology", "生态环境审批科", "Ecology and Environment Approval Section", "N4"),
        ("dept-culture", "文化旅游审批科", "Culture and Tourism Approval Section", "S2"),
        ("dept-tax", "税务审批科", "Taxation Approval Section", "S4"),
    ],
    4: [
        ("dept-police", "公安户政科", "Public Security Household Registration Section", "N1"),
        ("dept-archive", "档案室", "Archives Room", "N3"),
        ("dept-realestate", "不动产登记科", "Real Estate Registration Section", "N5"),
        ("dept-medical", "医保审批科", "Medical Insurance Approval Section", "S2"),
        ("dept-office", "综合办公室", "General Office", "S5"),
    ],
}

FLOOR_NAMES = {
    1: ("一楼 综合受理大厅", "Level 1 Service Hall", 0.0),
    2: ("二楼 审批科室", "Level 2 Approval Offices", 5.5),
    3: ("三楼 审批科室", "Level 3 Approval Offices", 9.5),
    4: ("四楼 审批科室与档案室", "Level 4 Approval Offices and Archives", 13.5),
}


@dataclass
class FloorPlan:
    level: int
    occ: np.ndarray = field(default_factory=lambda: np.zeros((ROWS, COLS), dtype=bool))
    waypoints: list[dict] = field(default_factory=list)
    lanes: list[dict] = field(default_factory=list)
    places: list[dict] = field(default_factory=list)

    # -- drawing (metres; grid row 0 is the bottom, like the loaded map) --
    def wall(self, x0: float, y0: float, x1: float, y1: float) -> None:
        c0, c1 = int(round(min(x0, x1) / RES_M)), int(round(max(x0, x1) / RES_M))
        r0, r1 = int(round(min(y0, y1) / RES_M)), int(round(max(y0, y1) / RES_M))
        self.occ[max(r0, 0) : min(r1, ROWS), max(c0, 0) : min(c1, COLS)] = True

    def clear(self, x0: float, y0: float, x1: float, y1: float) -> None:
        c0, c1 = int(round(x0 / RES_M)), int(round(x1 / RES_M))
        r0, r1 = int(round(y0 / RES_M)), int(round(y1 / RES_M))
        self.occ[r0:r1, c0:c1] = False

    # -- graph --
    def wp(self, name: str, x: float, y: float) -> str:
        wp_id = name if name.startswith("car-") else f"wp-L{self.level}-{name}"
        self.waypoints.append({"id": wp_id, "level": self.level, "x": round(x, 3), "y": round(y, 3)})
        return wp_id

    def lane(
        self, a: str, b: str, speed: float | None = None, width: float | None = None, one_way: bool = False
    ) -> None:
        lane: dict = {"from": a, "to": b}
        if one_way:
            lane["one_way"] = True
        if speed is not None:
            lane["speed_limit_mps"] = speed
        if width is not None:
            lane["width_m"] = width
        self.lanes.append(lane)

    def chain(self, ids: list[str], speed: float | None = None, width: float | None = None) -> None:
        for a, b in zip(ids, ids[1:]):
            self.lane(a, b, speed, width)

    def place(
        self,
        place_id: str,
        kind: str,
        zh: str,
        en: str,
        x: float,
        y: float,
        yaw: float,
        attach_to: str,
        speed: float = 0.5,
    ) -> None:
        wp_id = self.wp(place_id, x, y)
        self.places.append(
            {
                "id": place_id,
                "kind": kind,
                "level": self.level,
                "name_zh": zh,
                "name_en": en,
                "pose": [round(x, 3), round(y, 3), round(yaw, 4)],
                "waypoint": wp_id,
            }
        )
        self.lane(attach_to, wp_id, speed, 0.9)


def outer_walls(fp: FloorPlan) -> None:
    fp.wall(0, 0, WIDTH_M, WALL_M)
    fp.wall(0, HEIGHT_M - WALL_M, WIDTH_M, HEIGHT_M)
    fp.wall(0, 0, WALL_M, HEIGHT_M)
    fp.wall(WIDTH_M - WALL_M, 0, WIDTH_M, HEIGHT_M)


def west_wing(fp: FloorPlan, door: tuple[float, float], spine_ys: list[float]) -> dict[float, str]:
    """Elevator core, stairs and the wing wall (x 9.7-10.0) with one opening; returns spine nodes."""
    fp.wall(9.7, 0, 10.0, HEIGHT_M)
    fp.clear(9.7, door[0], 10.0, door[1])
    fp.wall(0, 17.8, 3.1, 22.2)  # stair core between the shafts
    for el in ELEVATORS.values():
        cy = el["car_y"]
        fp.wall(0, cy - 1.55, 3.1, cy - 1.25)  # shaft south wall
        fp.wall(0, cy + 1.25, 3.1, cy + 1.55)  # shaft north wall
        fp.wall(2.8, cy - 1.55, 3.1, cy + 1.55)  # shaft east wall ...
        fp.clear(2.8, cy - 0.6, 3.1, cy + 0.6)  # ... with a 1.2 m car door
    ys = sorted(set(spine_ys) | {el["car_y"] for el in ELEVATORS.values()} | {20.0})
    spine = {y: fp.wp(f"spine-{y:g}".replace(".", "_"), SPINE_X, y) for y in ys}
    fp.chain([spine[y] for y in ys], speed=1.2, width=1.5)
    for el_id, el in ELEVATORS.items():
        cy = el["car_y"]
        car = fp.wp(f"car-{el_id}-L{fp.level}", CAR_X, cy)
        lobby = f"lobby-{el_id}-L{fp.level}"
        fp.place(
            lobby,
            "elevator_lobby",
            f"{el_id} 电梯厅 {fp.level}楼",
            f"Elevator {el_id} Lobby, Level {fp.level}",
            LOBBY_X,
            cy,
            W,
            spine[cy],
            speed=0.8,
        )
        fp.lane(f"wp-L{fp.level}-{lobby}", car, 0.5, 1.2)
    return spine


def level1() -> FloorPlan:
    fp = FloorPlan(1)
    outer_walls(fp)
    fp.clear(51.0, 0, 57.0, WALL_M)  # main entrance (glass doors) on the south side
    spine = west_wing(fp, (18.5, 21.5), [5.0, 7.0, 9.0, 28.0, 30.0, 32.0, 34.0])
    for i, y in enumerate((5.0, 7.0, 9.0), start=1):
        fp.place(f"dock-{i}", "charging_dock", f"充电桩 {i}", f"Charging Dock {i}", 1.0, y, W, spine[y])
    for i, y in enumerate((28.0, 30.0, 32.0, 34.0), start=1):
        fp.place(f"park-{i}", "parking", f"机器人停车位 {i}", f"Robot Parking {i}", 8.6, y, E, spine[y])

    # counters: north (zones A, B), south (C, D + pickup), east (E, F)
    fp.wall(11.0, 33.0, WIDTH_M, 33.6)
    fp.wall(11.0, 6.4, 49.6, 7.0)
    fp.wall(56.4, 11.0, 57.0, 29.0)
    windows = [(zone, n, zh, en) for zone, count, zh, en in WINDOW_ZONES for n in range(1, count + 1)]
    north = windows[:24]
    south = windows[24:42]
    east = windows[42:]

    def win(zone: str, n: int, zh: str, en: str, x: float, y: float, yaw: float, at: str) -> None:
        code = f"{zone}{n:02d}"
        fp.place(f"win-{code}", "service_window", f"{zone}区 {zh} {code}", f"Zone {zone} {en} {code}", x, y, yaw, at)

    hall_speed, hall_width = 0.8, 1.5
    # aisles: nodes keyed by their position along the aisle, chained in order at the end
    north_aisle: dict[float, str] = {}  # y = 30.5, a node in front of every north window
    south_aisle: dict[float, str] = {}  # y = 9.5
    east_aisle: dict[float, str] = {}  # x = 54.0, keyed by y
    for i, (zone, n, zh, en) in enumerate(north):
        x = round(12.9 + 1.9 * i, 3)
        north_aisle[x] = fp.wp(f"n-{zone}{n:02d}", x, 30.5)
        win(zone, n, zh, en, x, 32.2, N, north_aisle[x])
    for i, (zone, n, zh, en) in enumerate(south):
        x = round(12.9 + 1.9 * i, 3)
        south_aisle[x] = fp.wp(f"s-{zone}{n:02d}", x, 9.5)
        win(zone, n, zh, en, x, 7.8, S, south_aisle[x])
    for k, x in enumerate((47.0, 48.9), start=1):
        south_aisle[x] = fp.wp(f"s-pickup-{k}", x, 9.5)
        fp.place(
            f"pickup-{k}", "pickup_window", f"出件窗口 {k}", f"Result Pickup Window {k}", x, 7.8, S, south_aisle[x]
        )
    for i, (zone, n, zh, en) in enumerate(east):
        y = round(12.0 + 1.25 * i, 3)
        east_aisle[y] = fp.wp(f"e-{zone}{n:02d}", 54.0, y)
        win(zone, n, zh, en, 55.6, y, E, east_aisle[y])
    # junctions: west aisle x=12, middle aisle x=33, east aisle ends
    for x in (12.0, 33.0):
        north_aisle[x] = fp.wp(f"n-{x:g}", x, 30.5)
        south_aisle[x] = fp.wp(f"s-{x:g}", x, 9.5)
    north_aisle[54.0] = east_aisle[30.5] = fp.wp("ne-corner", 54.0, 30.5)
    south_aisle[54.0] = east_aisle[9.5] = fp.wp("se-corner", 54.0, 9.5)

    # central corridor y=20 from the west wing door to the east aisle
    center = {x: fp.wp(f"c-{x:g}", x, 20.0) for x in (12.0, 18.0, 24.0, 33.0, 40.0, 46.0)}
    center[54.0] = east_aisle[20.0] = fp.wp("e-20", 54.0, 20.0)
    for aisle in (north_aisle, south_aisle, east_aisle, center):
        fp.chain([aisle[k] for k in sorted(aisle)], hall_speed, hall_width)
    fp.lane(spine[20.0], center[12.0], 1.0, 1.5)
    for x in (12.0, 33.0):
        fp.lane(south_aisle[x], center[x], hall_speed, hall_width)
        fp.lane(center[x], north_aisle[x], hall_speed, hall_width)

    # waiting zones: bench rows (obstacles) either side of a middle aisle
    benches = {
        "A": ((16.0, 23.0), (25.0, 31.5), (24.0, 25.5, 27.0), 24.0, 22.6, N, 24.0),
        "B": ((38.5, 45.0), (47.0, 52.0), (24.0, 25.5, 27.0), 46.0, 22.6, N, 46.0),
        "C": ((16.0, 23.0), (25.0, 31.5), (16.0, 14.5, 13.0), 24.0, 17.4, S, 24.0),
        "D": ((35.0, 39.0), (41.0, 47.0), (16.0, 14.5, 13.0), 40.0, 17.4, S, 40.0),
    }
    for zone, (left, right, rows, px, py, yaw, node_x) in benches.items():
        for y in rows:
            fp.wall(left[0], y, left[1], y + 0.45)
            fp.wall(right[0], y, right[1], y + 0.45)
        fp.place(
            f"wait-{zone}", "waiting_zone", f"{zone}区 等候区", f"Waiting Zone {zone}", px, py, yaw, center[node_x]
        )
    fp.place("ticket-1", "queue_ticket_area", "取号区", "Queue Ticket Area", 51.0, 12.5, E, "wp-L1-e-E01")
    fp.wall(50.4, 10.8, 51.6, 11.3)  # ticket machines
    return fp


def upper(level: int) -> FloorPlan:
    fp = FloorPlan(level)
    outer_walls(fp)
    spine = west_wing(fp, (18.0, 22.0), [])
    fp.wall(10.0, 22.0, WIDTH_M, 22.3)  # corridor north wall
    fp.wall(10.0, 17.7, WIDTH_M, 18.0)  # corridor south wall
    bounds = [10.0, 20.0, 30.0, 40.0, 50.0, WIDTH_M]
    for b in bounds[1:-1]:
        fp.wall(b - 0.15, 22.0, b + 0.15, HEIGHT_M)
        fp.wall(b - 0.15, 0, b + 0.15, 18.0)
    door_xs = [b + 3.0 for b in bounds[:-1]]
    for x in door_xs:  # every room has a 1.6 m door onto the corridor
        fp.clear(x - 0.8, 22.0, x + 0.8, 22.3)
        fp.clear(x - 0.8, 17.7, x + 0.8, 18.0)
    xs = [11.0] + door_xs + [58.0]
    corridor = {x: fp.wp(f"c-{x:g}", x, 20.0) for x in xs}
    fp.chain([corridor[x] for x in xs], 1.0, 1.5)
    fp.lane(spine[20.0], corridor[11.0], 1.0, 1.5)
    for dept_id, zh, en, room in DEPARTMENTS.get(level, []):
        x = door_xs[int(room[1]) - 1]
        north = room[0] == "N"
        fp.place(dept_id, "department", zh, en, x, 24.0 if north else 16.0, N if north else S, corridor[x])
    return fp


def write_pgm(path: Path, occ: np.ndarray) -> None:
    pixels = np.where(occ, OCC_PX, FREE_PX).astype(np.uint8)[::-1, :]  # image row 0 is the top
    header = f"P5\n# HallFleet demo hall, generated by generate.py\n{COLS} {ROWS}\n255\n"
    path.write_bytes(header.encode("ascii") + pixels.tobytes())


def write_map_yaml(path: Path, image: str) -> None:
    path.write_text(
        f"image: {image}\nresolution: {RES_M}\norigin: [0.0, 0.0, 0.0]\nnegate: 0\n"
        "occupied_thresh: 0.65\nfree_thresh: 0.25\nmode: trinary\n",
        encoding="utf-8",
    )


def _flow(item: dict) -> str:
    """One YAML flow mapping on one line; strings as JSON (valid YAML double-quoted) when needed."""
    parts = []
    for k, v in item.items():
        if isinstance(v, str) and not v.isascii():
            text = json.dumps(v, ensure_ascii=False)
        elif isinstance(v, bool):
            text = "true" if v else "false"
        elif isinstance(v, str):
            text = v if all(c.isalnum() or c in "-_." for c in v) else json.dumps(v)
        else:
            text = json.dumps(v)
        parts.append(f"{k}: {text}")
    return "{" + ", ".join(parts) + "}"


def building_yaml(plans: list[FloorPlan]) -> str:
    out = [
        "# Demo hall: a district administrative service centre (一网通办 hall) in Shanghai.",
        "# Generated by generate.py; edit the generator, not this file.",
        "# Coordinates are metres in each floor's map frame (origin = lower-left pixel), yaw in",
        "# radians. Places are attached to the lane graph through their own waypoint.",
        "version: 1",
        'name: {zh: "示范区行政服务中心", en: "Demo District Administrative Service Centre"}',
        "lane_defaults: {speed_limit_mps: 1.0, width_m: 1.2}",
        "",
        "floors:",
    ]
    for fp in plans:
        zh, en, elev = FLOOR_NAMES[fp.level]
        out.append(
            "  - "
            + _flow(
                {
                    "level": fp.level,
                    "map_id": f"floor{fp.level}",
                    "map": f"floor{fp.level}.yaml",
                    "elevation_m": elev,
                    "name_zh": zh,
                    "name_en": en,
                }
            )
        )
    out += ["", "elevators:"]
    levels = [fp.level for fp in plans]
    for el_id, el in ELEVATORS.items():
        out += [
            f"  - id: {el_id}",
            f"    levels: {json.dumps(levels)}",
            "    lobby_place: " + _flow({lv: f"lobby-{el_id}-L{lv}" for lv in levels}),
            "    car_waypoint: " + _flow({lv: f"car-{el_id}-L{lv}" for lv in levels}),
            f"    door_time_s: {el['door_time_s']}",
            f"    travel_time_per_floor_s: {el['travel_time_per_floor_s']}",
            f"    capacity_robots: {el['capacity']}",
        ]
    out += ["", "places:"]
    for fp in plans:
        out.append(f"  # level {fp.level}")
        out += ["  - " + _flow(p) for p in fp.places]
    out += ["", "waypoints:"]
    for fp in plans:
        out.append(f"  # level {fp.level}")
        out += ["  - " + _flow(w) for w in fp.waypoints]
    out += ["", "lanes:  # bidirectional unless one_way; speed and width default to lane_defaults"]
    for fp in plans:
        out.append(f"  # level {fp.level}")
        out += ["  - " + _flow(ln) for ln in fp.lanes]
    return "\n".join(out) + "\n"


def generate(folder: Path = HERE) -> None:
    plans = [level1()] + [upper(level) for level in (2, 3, 4)]
    for fp in plans:
        write_pgm(folder / f"floor{fp.level}.pgm", fp.occ)
        write_map_yaml(folder / f"floor{fp.level}.yaml", f"floor{fp.level}.pgm")
    (folder / "building.yaml").write_text(building_yaml(plans), encoding="utf-8")


if __name__ == "__main__":
    generate()
