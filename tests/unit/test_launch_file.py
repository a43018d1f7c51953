"""Parsing launch files in the ROS 2 YAML launch format (no processes started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallfleet_apps.launch import LaunchFileError, load_launch, parse_overrides

REPO = Path(__file__).resolve().parents[2]


def test_delivery_robot_launch_file_makes_firmware_and_four_namespaced_nodes() -> None:
    description = load_launch(REPO / "launch/delivery_robot.launch.yaml", {"robot_id": "dr7"})
    names = [p.name for p in description.processes]
    assert names == ["firmware", "dr7.base_driver", "dr7.navigation", "dr7.compartments", "dr7.vehicle_adapter"]
    adapter = description.processes[-1].argv
    assert adapter[:2] == ["-m", "robots.nodes.vehicle_adapter"]
    assert ["-r", "__ns:=/dr7"] == adapter[adapter.index("__ns:=/dr7") - 1 : adapter.index("__ns:=/dr7") + 1]
    assert "serial_number:=dr7" in adapter
    params_file = adapter[adapter.index("--params-file") + 1]
    assert Path(params_file) == REPO / "robots/config/delivery.yaml"
    firmware = description.processes[0].argv
    assert firmware[:2] == ["-m", "robots.sim.firmware"] and "/tmp/hallfleet-dr7.tty" in firmware


def test_guidance_robot_launch_file_has_speech_and_dialogue_instead_of_compartments() -> None:
    names = [p.name for p in load_launch(REPO / "launch/guidance_robot.launch.yaml").processes]
    assert "gr1.speech" in names and "gr1.dialogue" in names and not any("compartments" in n for n in names)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.launch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("launch:\n- node: {pkg: hallfleet, exec: teleport}\n", "unknown executable hallfleet/teleport"),
        (
            "launch:\n- node: {pkg: hallfleet, exec: navigation, namespace: $(var nope)}\n",
            "$(var nope) is not declared",
        ),
        ("launch:\n- arg: {name: robot_id}\n", "robot_id has no default"),
        ("launch:\n- group: {}\n", "unknown entry 'group'"),
        ("launch:\n- node: {pkg: hallfleet, exec: navigation, param: [{name: x}]}\n", "param[0]"),
        ("launch:\n- node: {pkg: hallfleet, exec: navigation, param: [{from: missing.yaml}]}\n", "no parameter file"),
        ("launch:\n- executable: {cmd: rm -rf /}\n", "expected 'python -m <module> ...'"),
        ("nodes: []\n", "launch: expected a list"),
    ],
)
def test_malformed_launch_files_name_file_entry_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(LaunchFileError) as error:
        load_launch(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_arguments_override_defaults_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "launch:\n- arg: {name: ns, default: a}\n- node: {pkg: hallfleet, exec: navigation, namespace: $(var ns)}\n",
    )
    assert load_launch(path, parse_overrides(["ns:=b"])).processes[0].name == "b.navigation"
    with pytest.raises(LaunchFileError, match="unknown launch arguments"):
        load_launch(path, {"typo": "1"})
    with pytest.raises(LaunchFileError, match="expected name:=value"):
        parse_overrides(["ns=b"])


def test_demo_hall_launch_file_makes_fleet_manager_elevators_and_four_namespaced_robots() -> None:
    description = load_launch(
        REPO / "launch/demo_hall.launch.yaml",
        parse_overrides(["http_port:=18080", "broker_port:=18831", "run_dir:=/tmp/hall-x"]),
    )
    by_name = {p.name: p.argv for p in description.processes}
    assert len(by_name) == len(description.processes) == 2 + 4 + 4 * 4 + 1  # gr1 also has dialogue
    fleet = by_name["fleet-manager"]
    assert (
        fleet[:5] == ["-m", "hallfleet_apps.cli", "fleet", "serve", "--http-port"]
        and "18080" in fleet
        and "18831" in fleet
    )
    elevators = by_name["elevators"]
    assert elevators[:2] == ["-m", "hallfleet_apps.sim.elevator"]
    assert "mqtt://127.0.0.1:18831" in elevators and "E1:1,2,3,4" in elevators and "E2:1,2,3,4" in elevators
    robots = {
        "dr1": ("compartments",),
        "dr2": ("compartments",),
        "dr3": ("compartments",),
        "gr1": ("speech", "dialogue"),
    }
    for robot_id, payload_nodes in robots.items():
        firmware = by_name[f"{robot_id}-firmware"]
        assert firmware[:2] == ["-m", "robots.sim.firmware"] and f"/tmp/hall-x/{robot_id}.tty" in firmware
        for node in ("base_driver", "navigation", *payload_nodes, "vehicle_adapter"):
            argv = by_name[f"{robot_id}.{node}"]
            assert argv[:2] == ["-m", f"robots.nodes.{node}"] and f"__ns:=/{robot_id}" in argv
        assert f"serial_url:=/tmp/hall-x/{robot_id}.tty" in by_name[f"{robot_id}.base_driver"]
        adapter = by_name[f"{robot_id}.vehicle_adapter"]
        assert f"serial_number:={robot_id}" in adapter and "mqtt_url:=mqtt://127.0.0.1:18831" in adapter


def test_demo_hall_launch_file_starts_robots_where_the_site_puts_them() -> None:
    from maps.site import load_site

    site = load_site(REPO / "maps/demo_hall")
    by_name = {p.name: p.argv for p in load_launch(REPO / "launch/demo_hall.launch.yaml").processes}
    for robot_id, home in {"dr1": "dock-1", "dr2": "dock-2", "dr3": "dock-3", "gr1": "wait-A"}.items():
        place = site.place(home)
        for node in ("navigation", "vehicle_adapter"):
            argv = by_name[f"{robot_id}.{node}"]
            values = {a.split(":=")[0]: a.split(":=")[1] for a in argv if ":=" in a and not a.startswith("__")}
            assert (float(values["initial_x"]), float(values["initial_y"]), float(values["initial_yaw"])) == (
                place.pose.x_m,
                place.pose.y_m,
                place.pose.yaw_rad,
            )
            assert values["map_id"] == site.floor(place.level).map_id
        assert f"start_node_id:={place.waypoint_id}" in by_name[f"{robot_id}.vehicle_adapter"]
