"""The real fleet manager as a process (``hallfleet fleet serve``) for integration tests, with a tiny HTTP client."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from othermake_vehicle import OtherMakeVehicle
from robot_process import REPO_ROOT, SITE_DIR, wait_for
from support import free_port, stop_process

from maps.site import load_site

MAKER = "OtherMake"  # the manufacturer of the test's vehicle of another make


def post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10.0) as response:
        return json.loads(response.read())


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10.0) as response:
        return json.loads(response.read())


def _answers(url: str) -> bool:
    try:
        get_json(url)
        return True
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


@contextmanager
def fleet_manager(workdir: Path, fleet_file: Path, mqtt_url: str, start_timeout_s: float = 60.0) -> Iterator[str]:
    """Base URL of a fleet manager serving on a free port until the block ends (stopped, also on failure)."""
    with fleet_manager_process(workdir, fleet_file, mqtt_url, start_timeout_s) as (base, _proc):
        yield base


@contextmanager
def fleet_manager_process(
    workdir: Path, fleet_file: Path, mqtt_url: str, start_timeout_s: float = 60.0, log_name: str = "fleet.log"
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like :func:`fleet_manager`, also handing out the process (e.g. to kill it in the middle of work)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = workdir / log_name
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hallfleet_apps.cli",
                "fleet",
                "serve",
                "--http-port",
                str(port),
                "--mqtt-url",
                mqtt_url,
                "--data-dir",
                str(workdir / "data"),
                "--fleet",
                str(fleet_file),
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: _answers(f"{base}/api/health") or proc.poll() is not None, start_timeout_s, "the fleet manager"
        )
        assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
        yield base, proc
    finally:
        stop_process(proc)


def start_other_make(serial: str, port: int = 1883, **timing_s: float) -> OtherMakeVehicle:
    """The other make's vehicle (tests/integration/othermake_vehicle.py), switched on at parking place 1;
    ``timing_s``: its ``step_s`` / ``action_s`` when a test needs it slower."""
    site = load_site(SITE_DIR)
    park = site.place("park-1")
    waypoint = site.waypoint(park.waypoint_id)
    return OtherMakeVehicle(
        MAKER, serial, waypoint.x_m, waypoint.y_m, site.map_id(park.level), waypoint.id, port=port, **timing_s
    )


def write_other_make_fleet(path: Path, serial: str, *extra_lines: str) -> Path:
    """A fleet file with the other make's vehicle (kind thirdparty, home park-1) and any further robot lines."""
    path.write_text(
        "manufacturer: HallFleet\nrobots:\n"
        f"  - {{id: {serial}, kind: thirdparty, manufacturer: {MAKER}, home: park-1}}\n"
        + "".join(f"  - {line}\n" for line in extra_lines),
        encoding="utf-8",
    )
    return path
