"""Map loading (nav2 map_server semantics), site validation and the demo hall's contents."""

from __future__ import annotations

import filecmp
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from maps.occupancy import MapError, load_occupancy_map
from maps.render import render_floor
from maps.site import SiteError, load_site
from maps.testing import tiny_building, write_map_yaml, write_pgm, write_tiny_site

DEMO_HALL = Path(__file__).resolve().parents[2] / "maps" / "demo_hall"


# --------------------------------------------------------------------------- occupancy maps


def _map(tmp_path: Path, pixels: list[list[int]], plain: bool = False, **yaml_fields: object):
    write_pgm(tmp_path / "m.pgm", np.array(pixels, dtype=np.uint8), plain=plain)
    write_map_yaml(tmp_path / "m.yaml", "m.pgm", **yaml_fields)
    return load_occupancy_map(tmp_path / "m.yaml")


def test_image_top_row_is_the_highest_grid_row(tmp_path: Path) -> None:
    m = _map(tmp_path, [[0, 254, 128], [254, 254, 0]])
    assert (m.width_cells, m.height_cells) == (3, 2)
    assert m.grid.dtype == np.int8
    assert m.grid[1].tolist() == [100, 0, -1]  # image row 0 (top) -> grid row 1
    assert m.grid[0].tolist() == [0, 0, 100]


def test_negate_inverts_the_meaning_of_pixels(tmp_path: Path) -> None:
    m = _map(tmp_path, [[0, 254, 128]], negate=1)
    assert m.grid[0].tolist() == [0, 100, -1]


def test_pixel_205_is_free_under_the_usual_thresholds(tmp_path: Path) -> None:
    """nav2 semantics, not intuition: (255 - 205) / 255 = 0.196 < free_thresh 0.25."""
    assert _map(tmp_path, [[205]]).grid.tolist() == [[0]]


def test_thresholds_are_strict(tmp_path: Path) -> None:
    # x=51 -> p = 0.8 exactly; x=204 -> p = 0.2 exactly: both sit on a threshold -> unknown
    m = _map(tmp_path, [[51, 50, 204, 205]], occupied_thresh=0.8, free_thresh=0.2)
    assert m.grid[0].tolist() == [-1, 100, -1, 0]


def test_plain_p2_reads_like_p5(tmp_path: Path) -> None:
    m = _map(tmp_path, [[0, 254, 128], [254, 254, 0]], plain=True)
    assert m.grid[1].tolist() == [100, 0, -1]


def test_origin_is_the_lower_left_pixel(tmp_path: Path) -> None:
    m = _map(tmp_path, [[254] * 4] * 3, origin=[-1.0, 2.0, 0.0], resolution=0.5)
    assert m.origin_xy == (-1.0, 2.0)
    assert m.cell_to_xy(0, 0) == (-0.75, 2.25)
    assert m.xy_to_cell(-1.0 + 1.0 + 0.1, 2.0 + 0.1) == (0, 2)
    assert m.xy_to_cell(-1.01, 2.0) == (0, -1)  # just outside to the left
    assert not m.is_free_xy(-1.01, 2.1)


def test_is_free_xy_keeps_the_radius_clear_of_walls(tmp_path: Path) -> None:
    pixels = [[254] * 20 for _ in range(20)]
    for row in pixels:
        row[10] = 0  # a vertical wall at x = 1.0 .. 1.1 (resolution 0.1)
    m = _map(tmp_path, pixels, resolution=0.1)
    assert m.is_free_xy(0.55, 1.0)
    assert m.is_free_xy(0.55, 1.0, radius_m=0.3)
    assert not m.is_free_xy(0.85, 1.0, radius_m=0.3)
    assert not m.is_free_xy(1.05, 1.0)


def test_image_path_is_relative_to_the_yaml_not_the_cwd(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "site" / "img").mkdir(parents=True)
    write_pgm(tmp_path / "site" / "img" / "f.pgm", np.full((2, 2), 254, dtype=np.uint8))
    write_map_yaml(tmp_path / "site" / "f.yaml", "img/f.pgm")
    monkeypatch.chdir(tmp_path)
    assert load_occupancy_map(tmp_path / "site" / "f.yaml").grid.tolist() == [[0, 0], [0, 0]]


def test_map_errors_name_file_and_field(tmp_path: Path) -> None:
    write_map_yaml(tmp_path / "m.yaml", "missing.pgm")
    with pytest.raises(MapError, match=r"^m\.yaml: image: cannot read 'missing\.pgm'"):
        load_occupancy_map(tmp_path / "m.yaml")
    write_pgm(tmp_path / "m.pgm", np.full((2, 2), 254, dtype=np.uint8))
    write_map_yaml(tmp_path / "m.yaml", "m.pgm", resolution="fine")
    with pytest.raises(MapError, match=r"^m\.yaml: resolution: expected a number"):
        load_occupancy_map(tmp_path / "m.yaml")
    (tmp_path / "m.pgm").write_bytes(b"P5\n4 4\n255\n" + bytes(5))
    write_map_yaml(tmp_path / "m.yaml", "m.pgm")
    with pytest.raises(MapError, match=r"^m\.yaml: image: 'm\.pgm' is truncated"):
        load_occupancy_map(tmp_path / "m.yaml")


# --------------------------------------------------------------------------- site validation


def test_tiny_site_loads_with_lookups(tmp_path: Path) -> None:
    site = load_site(write_tiny_site(tmp_path))
    assert site.place("win-1").waypoint_id == "c"
    assert [p.id for p in site.places_of_kind("department")] == ["dept-1"]
    assert site.floor(2).map_id == "f2" and site.map_id(1) == "f1"
    assert site.waypoint("car-E-2").level == 2
    assert site.elevator("E").lobby_place == {1: "lobby-E-1", 2: "lobby-E-2"}
    with pytest.raises(SiteError, match="unknown place 'nope'"):
        site.place("nope")
    with pytest.raises(KeyError):  # SiteError reads like a dict miss
        site.waypoint("nope")


def _load_broken(tmp_path: Path, mutate) -> str:
    doc = tiny_building()
    mutate(doc)
    with pytest.raises(SiteError) as info:
        load_site(write_tiny_site(tmp_path, doc))
    return str(info.value)


def test_duplicate_place_id_is_reported(tmp_path: Path) -> None:
    def dup(doc: dict) -> None:
        doc["places"].append(dict(doc["places"][0]))

    msg = _load_broken(tmp_path, dup)
    assert "building.yaml: places[4].id: duplicate place id 'win-1'" in msg


def test_unknown_waypoint_is_reported(tmp_path: Path) -> None:
    msg = _load_broken(tmp_path, lambda d: d["places"][3].update(waypoint="nowhere"))
    assert "building.yaml: places[3].waypoint: unknown waypoint 'nowhere'" in msg


def test_place_inside_a_wall_is_reported(tmp_path: Path) -> None:
    msg = _load_broken(tmp_path, lambda d: d["places"][0].update(pose=[10.0, 8.0, 0.0]))
    assert "building.yaml: places[0].pose: place 'win-1' at (10.00, 8.00) is inside a wall" in msg


def test_waypoint_inside_a_wall_and_lane_through_a_wall_are_reported(tmp_path: Path) -> None:
    def break_it(doc: dict) -> None:
        doc["waypoints"].append({"id": "in-wall", "level": 1, "x": 0.1, "y": 5.0})
        doc["lanes"].append({"from": "island", "to": "lobby1"})  # crosses x=10 above the door

    msg = _load_broken(tmp_path, break_it)
    assert "building.yaml: waypoints[11]: waypoint 'in-wall' at (0.10, 5.00) is inside a wall" in msg
    assert "building.yaml: lanes[9]: lane 'island' -> 'lobby1' crosses a wall" in msg


def test_elevator_without_lobby_is_reported(tmp_path: Path) -> None:
    msg = _load_broken(tmp_path, lambda d: d["elevators"][0]["lobby_place"].pop(2))
    assert msg == "building.yaml: elevators[0].lobby_place: no lobby for level 2"


def test_missing_floor_map_is_reported(tmp_path: Path) -> None:
    msg = _load_broken(tmp_path, lambda d: d["floors"][1].update(map="gone.yaml"))
    assert msg.startswith("building.yaml: floors[1].map: gone.yaml: cannot read")
    assert len(msg.splitlines()) == 1  # the floor's waypoints are not reported as orphans


def test_every_problem_gets_its_own_line(tmp_path: Path) -> None:
    def break_it(doc: dict) -> None:
        doc["places"][3]["waypoint"] = "x1"
        doc["places"][2]["kind"] = "lift"
        doc["lanes"][0]["to"] = "x2"

    msg = _load_broken(tmp_path, break_it)
    lines = msg.splitlines()
    assert len(lines) >= 3 and all(line.startswith("building.yaml: ") for line in lines)


def test_place_cut_off_from_its_lobby_is_reported(tmp_path: Path) -> None:
    msg = _load_broken(tmp_path, lambda d: d["lanes"].pop(8))  # a2 - b2
    assert msg == (
        "building.yaml: places[3].waypoint: place 'dept-1' (waypoint 'b2') cannot be "
        "reached by lanes from the elevator lobbies on level 2 (lobby-E-2)"
    )


def test_one_way_lanes_count_in_their_direction_only(tmp_path: Path) -> None:
    def trap(doc: dict) -> None:
        doc["lanes"][0]["one_way"] = True  # a -> b
        doc["lanes"][1]["one_way"] = True  # b -> c; c -> d -> a leads back: win-1 is fine
        doc["lanes"][8].update({"from": "b2", "to": "a2", "one_way": True})  # dept-1: exit only

    msg = _load_broken(tmp_path, trap)
    assert msg.splitlines() == [
        "building.yaml: places[3].waypoint: place 'dept-1' (waypoint 'b2') cannot be reached "
        "by lanes from the elevator lobbies on level 2 (lobby-E-2)"
    ]
    msg = _load_broken(tmp_path, lambda d: d["lanes"][8].update(one_way=True))  # a2 -> b2: a trap
    assert msg.startswith("building.yaml: places[3].waypoint: no lane path leads from place 'dept-1'")


def test_reachability_is_not_reported_on_top_of_a_broken_lane_graph(tmp_path: Path) -> None:
    msg = _load_broken(tmp_path, lambda d: d["lanes"][8].update(to="nowhere"))
    assert msg == "building.yaml: lanes[8].to: unknown waypoint 'nowhere'"


def test_yaml_syntax_errors_are_one_line_with_a_position(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path)
    (site / "building.yaml").write_text("floors:\n  - {level: 1\nplaces: [\n", encoding="utf-8")
    with pytest.raises(SiteError) as info:
        load_site(site)
    assert info.value.problems == [str(info.value)]
    assert re.fullmatch(r"building\.yaml: not valid YAML: line \d+, column \d+: .+", str(info.value))
    (site / "building.yaml").write_text(yaml.safe_dump(tiny_building()), encoding="utf-8")
    (site / "f1.yaml").write_text("image: [f1.pgm\n", encoding="utf-8")
    with pytest.raises(SiteError) as info:
        load_site(site)
    assert len(info.value.problems) == 1 and "\n" not in str(info.value)
    assert str(info.value).startswith("building.yaml: floors[0].map: f1.yaml: not valid YAML")


# --------------------------------------------------------------------------- the demo hall


@pytest.fixture(scope="module")
def demo():
    return load_site(DEMO_HALL)


def test_demo_hall_is_a_realistic_four_floor_service_centre(demo) -> None:
    assert [f.level for f in demo.floors] == [1, 2, 3, 4]
    assert [demo.map_id(lv) for lv in (1, 2, 3, 4)] == ["floor1", "floor2", "floor3", "floor4"]
    for floor in demo.floors:
        assert (floor.map.width_cells, floor.map.height_cells) == (1200, 800)
        assert floor.map.resolution_m == 0.05
    windows = demo.places_of_kind("service_window")
    assert len([w for w in windows if w.level == 1]) >= 40
    assert {w.id[4] for w in windows} >= {"A", "B", "C", "D"}
    assert demo.place("win-A01").name_zh == "A区 综合受理窗口 A01"
    assert demo.place("win-A01").name_en == "Zone A General Acceptance Window A01"
    depts = demo.places_of_kind("department")
    assert len([d for d in depts if d.level in (2, 3, 4)]) >= 12
    assert any(d.level == 3 for d in depts)
    assert demo.place("dept-market").name_zh == "市场监管审批科"
    assert len(demo.places_of_kind("pickup_window")) == 2
    assert len(demo.places_of_kind("charging_dock")) >= 3
    assert {p.id for p in demo.places_of_kind("waiting_zone")} >= {f"wait-{z}" for z in "ABCD"}
    assert demo.places_of_kind("queue_ticket_area")
    assert demo.places_of_kind("parking")
    assert {e.id for e in demo.elevators} == {"E1", "E2"}
    for elevator in demo.elevators:
        assert elevator.levels == (1, 2, 3, 4)
        for level in elevator.levels:
            assert demo.place(elevator.lobby_place[level]).level == level
            assert elevator.car_waypoint[level] == f"car-{elevator.id}-L{level}"


def test_demo_hall_covers_the_knowledge_base_windows(demo) -> None:
    """The guidance knowledge base sends visitors to these windows; they must exist."""
    for zone, last in {"A": 14, "B": 10, "C": 10, "D": 8, "E": 8, "F": 6}.items():
        for n in range(1, last + 1):
            assert demo.place(f"win-{zone}{n:02d}").level == 1


def test_committed_demo_files_are_the_generator_output(tmp_path: Path, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("demo_generate", DEMO_HALL / "generate.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "demo_generate", module)  # dataclasses look themselves up
    spec.loader.exec_module(module)
    module.generate(tmp_path)
    names = ["building.yaml"] + [f"floor{n}.{ext}" for n in range(1, 5) for ext in ("yaml", "pgm")]
    match, mismatch, errors = filecmp.cmpfiles(DEMO_HALL, tmp_path, names, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_render_draws_the_floor_with_its_places(demo, tmp_path: Path) -> None:
    out = render_floor(demo, 3, tmp_path / "floor3.png")
    image = Image.open(out).convert("RGB")
    assert image.size == (1200, 800)
    dept_x, dept_y = demo.place("dept-ecology").pose.x_m, demo.place("dept-ecology").pose.y_m
    px = image.getpixel((round(dept_x / 0.05), round(800 - dept_y / 0.05)))
    assert px == (200, 60, 40)  # the department marker colour at the department's pose
