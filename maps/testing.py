"""A tiny two-floor site for tests: small enough to reason about by hand.

Each floor is 20 m x 10 m at 0.1 m/cell with outer walls and an inner wall at x = 10 m that has
a door for y in [1, 6]. Elevator "E" joins the floors (car at (2, 8.5) on both).

  level 1: a(2,5) - b(10,5) - c(18,5), c -> d(18,2) one way, d - a (through the door),
           lobby(2,7) - a, lobby - car-E-1, island(15,8) with no lanes.
           places: win-1 at c, lobby-E-1 at lobby
  level 2: car-E-2 - lobby2(2,7) - a2(2,5) - b2(18,5); places: dept-1 at b2, lobby-E-2 at lobby2
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import yaml

RES_M = 0.1
COLS, ROWS = 200, 100


def floor_pixels() -> np.ndarray:
    """uint8 image (row 0 at the top): 254 free, 0 wall."""
    occ = np.zeros((ROWS, COLS), dtype=bool)  # row 0 at the bottom while drawing
    occ[:3, :] = occ[-3:, :] = True
    occ[:, :3] = occ[:, -3:] = True
    occ[:, 99:102] = True  # inner wall at x = 9.9 .. 10.2
    occ[10:60, 99:102] = False  # door for y in [1.0, 6.0)
    return np.where(occ, 0, 254).astype(np.uint8)[::-1, :]


def write_pgm(path: Path, pixels: np.ndarray, plain: bool = False) -> None:
    rows, cols = pixels.shape
    if plain:
        body = "\n".join(" ".join(str(int(v)) for v in row) for row in pixels)
        path.write_text(f"P2\n{cols} {rows}\n255\n{body}\n", encoding="ascii")
    else:
        path.write_bytes(f"P5\n{cols} {rows}\n255\n".encode("ascii") + pixels.tobytes())


def write_map_yaml(path: Path, image: str, **overrides: object) -> None:
    doc = {
        "image": image,
        "resolution": RES_M,
        "origin": [0.0, 0.0, 0.0],
        "negate": 0,
        "occupied_thresh": 0.65,
        "free_thresh": 0.25,
        "mode": "trinary",
    }
    doc.update(overrides)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


TINY_BUILDING: dict = {
    "version": 1,
    "name": {"zh": "小楼", "en": "Tiny"},
    "floors": [
        {"level": 1, "map_id": "f1", "map": "f1.yaml", "elevation_m": 0.0, "name_zh": "一楼", "name_en": "L1"},
        {"level": 2, "map_id": "f2", "map": "f2.yaml", "elevation_m": 4.0, "name_zh": "二楼", "name_en": "L2"},
    ],
    "waypoints": [
        {"id": "a", "level": 1, "x": 2.0, "y": 5.0},
        {"id": "b", "level": 1, "x": 10.0, "y": 5.0},
        {"id": "c", "level": 1, "x": 18.0, "y": 5.0},
        {"id": "d", "level": 1, "x": 18.0, "y": 2.0},
        {"id": "lobby1", "level": 1, "x": 2.0, "y": 7.0},
        {"id": "car-E-1", "level": 1, "x": 2.0, "y": 8.5},
        {"id": "island", "level": 1, "x": 15.0, "y": 8.0},
        {"id": "car-E-2", "level": 2, "x": 2.0, "y": 8.5},
        {"id": "lobby2", "level": 2, "x": 2.0, "y": 7.0},
        {"id": "a2", "level": 2, "x": 2.0, "y": 5.0},
        {"id": "b2", "level": 2, "x": 18.0, "y": 5.0},
    ],
    "lanes": [
        {"from": "a", "to": "b"},
        {"from": "b", "to": "c"},
        {"from": "c", "to": "d", "one_way": True},
        {"from": "d", "to": "a"},
        {"from": "lobby1", "to": "a"},
        {"from": "lobby1", "to": "car-E-1", "speed_limit_mps": 0.5},
        {"from": "car-E-2", "to": "lobby2", "speed_limit_mps": 0.5},
        {"from": "lobby2", "to": "a2"},
        {"from": "a2", "to": "b2"},
    ],
    "places": [
        {
            "id": "win-1",
            "kind": "service_window",
            "level": 1,
            "name_zh": "窗口1",
            "name_en": "Window 1",
            "pose": [18.0, 5.0, 0.0],
            "waypoint": "c",
        },
        {
            "id": "lobby-E-1",
            "kind": "elevator_lobby",
            "level": 1,
            "name_zh": "电梯厅1",
            "name_en": "Lobby 1",
            "pose": [2.0, 7.0, 1.57],
            "waypoint": "lobby1",
        },
        {
            "id": "lobby-E-2",
            "kind": "elevator_lobby",
            "level": 2,
            "name_zh": "电梯厅2",
            "name_en": "Lobby 2",
            "pose": [2.0, 7.0, 1.57],
            "waypoint": "lobby2",
        },
        {
            "id": "dept-1",
            "kind": "department",
            "level": 2,
            "name_zh": "审批科",
            "name_en": "Approval Section",
            "pose": [18.0, 5.0, 0.0],
            "waypoint": "b2",
        },
    ],
    "elevators": [
        {
            "id": "E",
            "levels": [1, 2],
            "lobby_place": {1: "lobby-E-1", 2: "lobby-E-2"},
            "car_waypoint": {1: "car-E-1", 2: "car-E-2"},
            "door_time_s": 3.0,
            "travel_time_per_floor_s": 4.0,
            "capacity_robots": 1,
        },
    ],
}


def tiny_building() -> dict:
    """A fresh, mutable copy of the tiny building document."""
    return copy.deepcopy(TINY_BUILDING)


def write_tiny_site(folder: Path, building: dict | None = None) -> Path:
    """Write the tiny site (maps + building.yaml, optionally a modified document) into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = floor_pixels()
    for level in (1, 2):
        write_pgm(folder / f"f{level}.pgm", pixels)
        write_map_yaml(folder / f"f{level}.yaml", f"f{level}.pgm")
    doc = building if building is not None else tiny_building()
    (folder / "building.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder
