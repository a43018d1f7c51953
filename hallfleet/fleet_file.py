"""The fleet file: which vehicles make up a hall's fleet. Parsed once into typed objects.

Our own robots are started by the demo; ``kind: thirdparty`` vehicles of other makes join by
configuration only (manufacturer and serial number), as VDA 5050 intends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

KINDS = ("delivery", "guidance", "thirdparty")


class FleetFileError(ValueError):
    """The fleet file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class RobotSpec:
    robot_id: str
    kind: str
    manufacturer: str
    home_place_id: str
    compartments: int = 0
    config_file: Path | None = None  # ROS 2 parameter file for this robot type


@dataclass(frozen=True)
class FleetSpec:
    source: Path
    robots: tuple[RobotSpec, ...]

    def robot(self, robot_id: str) -> RobotSpec:
        for spec in self.robots:
            if spec.robot_id == robot_id:
                return spec
        raise FleetFileError(f"{self.source}: no robot with id {robot_id!r}")


def load_fleet(path: str | Path) -> FleetSpec:
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FleetFileError(f"{source}: cannot read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("robots"), list):
        raise FleetFileError(f"{source}: robots: expected a list of robots")
    manufacturer = str(data.get("manufacturer", "HallFleet"))
    robots, seen = [], set()
    for index, raw in enumerate(data["robots"]):
        where = f"{source}: robots[{index}]"
        if not isinstance(raw, dict):
            raise FleetFileError(f"{where}: expected a mapping")
        robot_id, kind, home = raw.get("id"), raw.get("kind"), raw.get("home")
        if not isinstance(robot_id, str) or not robot_id.isidentifier():
            raise FleetFileError(f"{where}.id: expected a short identifier like 'dr1', got {robot_id!r}")
        if robot_id in seen:
            raise FleetFileError(f"{where}.id: duplicate robot id {robot_id!r}")
        if kind not in KINDS:
            raise FleetFileError(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        if not isinstance(home, str):
            raise FleetFileError(f"{where}.home: expected a place id")
        compartments = raw.get("compartments", 4 if kind == "delivery" else 0)
        if not isinstance(compartments, int) or (kind == "delivery" and compartments < 1):
            raise FleetFileError(f"{where}.compartments: expected a positive integer, got {compartments!r}")
        config = raw.get("config")
        config_path = (source.parent / config).resolve() if config else None
        seen.add(robot_id)
        robots.append(
            RobotSpec(robot_id, kind, str(raw.get("manufacturer", manufacturer)), home, compartments, config_path)
        )
    return FleetSpec(source, tuple(robots))
