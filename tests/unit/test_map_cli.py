"""``hallfleet map check`` / ``map render`` as a person runs them: exit codes and the lines they read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import maps.render
from hallfleet_apps.cli import app
from maps.testing import tiny_building, write_tiny_site

DEMO_HALL = Path(__file__).resolve().parents[2] / "maps" / "demo_hall"

runner = CliRunner()


def _check(site: Path):
    return runner.invoke(app, ["map", "check", str(site)])


def _broken_site(tmp_path: Path, mutate: Callable[[dict], None]) -> Path:
    doc = tiny_building()
    mutate(doc)
    return write_tiny_site(tmp_path / "site", doc)


def _assert_fails_with(result, prefix: str) -> list[str]:
    """Exit 1, no traceback, and one output line starting with 'file: field:'."""
    lines = result.output.splitlines()
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert "Traceback" not in result.output
    assert any(line.startswith(prefix) for line in lines), f"no line starts with {prefix!r}:\n{result.output}"
    return lines


# --------------------------------------------------------------------------- check: valid sites


def test_demo_hall_passes_with_a_one_line_summary() -> None:
    result = _check(DEMO_HALL)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"OK {DEMO_HALL}: 4 floors, 93 places, 212 waypoints, 212 lanes, 2 elevators"]


def test_tiny_site_passes(tmp_path: Path) -> None:
    result = _check(write_tiny_site(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK ") and "2 floors, 4 places" in result.output


# --------------------------------------------------------------------------- check: one test per problem kind


def test_missing_image_names_the_floor_yaml_and_image(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path / "site")
    (site / "f2.pgm").unlink()
    lines = _assert_fails_with(_check(site), "building.yaml: floors[1].map: f2.yaml: image: cannot read 'f2.pgm'")
    assert len(lines) == 1  # the floor's places and waypoints are not reported as orphans


def test_unreadable_image_names_the_floor_yaml_and_image(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path / "site")
    (site / "f1.pgm").write_bytes(b"\x89PNG\r\n\x1a\n not a pgm at all")
    _assert_fails_with(_check(site), "building.yaml: floors[0].map: f1.yaml: image: 'f1.pgm' is not a PGM")


def test_place_inside_a_wall(tmp_path: Path) -> None:
    site = _broken_site(tmp_path, lambda d: d["places"][0].update(pose=[10.0, 8.0, 0.0]))
    _assert_fails_with(_check(site), "building.yaml: places[0].pose: place 'win-1' at (10.00, 8.00) is inside a wall")


def test_place_unreachable_from_the_elevator_lobby(tmp_path: Path) -> None:
    # drop the lane a2 - b2: the department on level 2 is cut off from its lobby
    site = _broken_site(tmp_path, lambda d: d["lanes"].pop(8))
    lines = _assert_fails_with(
        _check(site), "building.yaml: places[3].waypoint: place 'dept-1' (waypoint 'b2') cannot be reached"
    )
    assert len(lines) == 1 and "lobby-E-2" in lines[0]


def test_place_without_a_lane_back_to_the_lobby(tmp_path: Path) -> None:
    # a2 -> b2 one way: a robot can reach the department but never leave it
    site = _broken_site(tmp_path, lambda d: d["lanes"][8].update(one_way=True))
    _assert_fails_with(_check(site), "building.yaml: places[3].waypoint: no lane path leads from place 'dept-1'")


def test_elevator_lobby_missing_on_a_served_floor(tmp_path: Path) -> None:
    site = _broken_site(tmp_path, lambda d: d["elevators"][0]["lobby_place"].pop(2))
    _assert_fails_with(_check(site), "building.yaml: elevators[0].lobby_place: no lobby for level 2")


def test_elevator_lobby_on_the_wrong_floor(tmp_path: Path) -> None:
    site = _broken_site(tmp_path, lambda d: d["elevators"][0]["lobby_place"].update({2: "lobby-E-1"}))
    _assert_fails_with(_check(site), "building.yaml: elevators[0].lobby_place.2: place 'lobby-E-1' is on level 1")


def _dup_place(d: dict) -> None:
    d["places"].append(dict(d["places"][0]))


def _dup_waypoint(d: dict) -> None:
    d["waypoints"].append(dict(d["waypoints"][0]))


def _dup_elevator(d: dict) -> None:
    d["elevators"].append(dict(d["elevators"][0]))


def _dup_floor(d: dict) -> None:
    d["floors"].append(dict(d["floors"][0], map_id="f1-again"))


def _dup_map_id(d: dict) -> None:
    d["floors"].append(dict(d["floors"][0], level=3))


@pytest.mark.parametrize(
    ("mutate", "prefix"),
    [
        (_dup_place, "building.yaml: places[4].id: duplicate place id 'win-1'"),
        (_dup_waypoint, "building.yaml: waypoints[11].id: duplicate waypoint id 'a'"),
        (_dup_elevator, "building.yaml: elevators[1].id: duplicate elevator id 'E'"),
        (_dup_floor, "building.yaml: floors[2].level: duplicate level 1"),
        (_dup_map_id, "building.yaml: floors[2].map_id: duplicate map id 'f1'"),
    ],
    ids=["place", "waypoint", "elevator", "floor-level", "floor-map-id"],
)
def test_duplicate_ids(tmp_path: Path, mutate: Callable[[dict], None], prefix: str) -> None:
    _assert_fails_with(_check(_broken_site(tmp_path, mutate)), prefix)


def test_lane_through_a_wall(tmp_path: Path) -> None:
    site = _broken_site(tmp_path, lambda d: d["lanes"].append({"from": "island", "to": "lobby1"}))
    _assert_fails_with(_check(site), "building.yaml: lanes[9]: lane 'island' -> 'lobby1' crosses a wall")


def test_several_problems_give_one_line_each(tmp_path: Path) -> None:
    def break_it(d: dict) -> None:
        d["places"][0]["pose"] = [10.0, 8.0, 0.0]
        d["lanes"].append({"from": "island", "to": "lobby1"})
        d["elevators"][0]["lobby_place"].pop(2)

    lines = _assert_fails_with(_check(_broken_site(tmp_path, break_it)), "building.yaml: places[0].pose:")
    assert len(lines) == 3 and all(line.startswith("building.yaml: ") for line in lines)


# --------------------------------------------------------------------------- check: files the parser rejects


def test_bad_yaml_syntax_is_one_line_with_its_position(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path / "site")
    (site / "building.yaml").write_text("floors: [\n  {level: 1, map: f1.yaml\nplaces: ]\n", encoding="utf-8")
    lines = _assert_fails_with(_check(site), "building.yaml: not valid YAML: line ")
    assert len(lines) == 1


def test_bad_yaml_in_a_floor_map_is_one_line(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path / "site")
    (site / "f2.yaml").write_text("image: f2.pgm\nresolution: [0.1\n", encoding="utf-8")
    lines = _assert_fails_with(_check(site), "building.yaml: floors[1].map: f2.yaml: not valid YAML")
    assert len(lines) == 1


def test_missing_building_yaml_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    lines = _assert_fails_with(_check(tmp_path / "empty"), f"{tmp_path / 'empty' / 'building.yaml'}: cannot read")
    assert len(lines) == 1


def test_building_yaml_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path / "site")
    (site / "building.yaml").write_bytes("name: 示范区行政服务中心\n".encode("gbk"))  # saved as GBK by an editor
    _assert_fails_with(_check(site), "building.yaml: not UTF-8 text")


# --------------------------------------------------------------------------- render


def test_render_writes_a_png_of_the_floor_size_times_scale(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path / "site")
    out = tmp_path / "f2.png"
    result = runner.invoke(app, ["map", "render", str(site), "--floor", "2", "-o", str(out), "--scale", "2"])
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (400, 200)  # 200 x 100 cells at 2 px per cell


def test_render_demo_hall_floor_at_map_size(tmp_path: Path) -> None:
    out = tmp_path / "floor1.png"
    result = runner.invoke(app, ["map", "render", str(DEMO_HALL), "--floor", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.size == (1200, 800)


def test_render_unknown_floor_fails_with_a_message(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path / "site")
    out = tmp_path / "f9.png"
    result = runner.invoke(app, ["map", "render", str(site), "--floor", "9", "-o", str(out)])
    lines = _assert_fails_with(result, "--floor: ")
    assert "no floor 9 (levels: 1, 2)" in lines[0]
    assert not out.exists()


def test_render_of_a_broken_site_reports_its_problems(tmp_path: Path) -> None:
    site = write_tiny_site(tmp_path / "site")
    (site / "f1.pgm").unlink()
    result = runner.invoke(app, ["map", "render", str(site), "--floor", "2", "-o", str(tmp_path / "x.png")])
    _assert_fails_with(result, "building.yaml: floors[0].map: f1.yaml: image:")


def test_render_without_a_chinese_font_falls_back_to_english(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(maps.render, "CJK_FONT_PATHS", (str(tmp_path / "no-such-font.ttc"),))
    assert maps.render._label(_place_named("窗口 A01", "Window A01"), chinese=False) == "A01"
    site = write_tiny_site(tmp_path / "site")
    out = tmp_path / "f1.png"
    result = runner.invoke(app, ["map", "render", str(site), "--floor", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.size == (200, 100)


def _place_named(name_zh: str, name_en: str):
    from maps.site import Place, Pose2D

    return Place("w", "service_window", name_zh, name_en, 1, Pose2D(0.0, 0.0), "a")
