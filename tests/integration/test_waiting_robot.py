"""A real guidance robot (firmware simulator + its ROS 2 process) and the real fleet manager app:
a ticket waits too long, the robot drives from its home zone to the ticket's zone and speaks the
greeting into a WAV file."""

from __future__ import annotations

import subprocess
import sys
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from robot_process import REPO_ROOT, ROBOT_DRIVE_RERUNS, SITE_DIR, stop_process, unique_robot_id, wait_for
from support import free_port

from fleet_api.http.app import create_app
from fleet_api.settings import Settings

pytestmark = [pytest.mark.integration, ROBOT_DRIVE_RERUNS]
CST = timezone(timedelta(hours=8))
GUIDANCE_CONFIG = REPO_ROOT / "robots" / "config" / "guidance.yaml"
ROBOT_TIME_SCALE = 10.0
START_TIMEOUT_S = 60.0
VISIT_TIMEOUT_S = 90.0


def start(args: list[str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def test_guidance_robot_drives_to_the_waiting_zone_and_speaks_the_greeting(tmp_path: Path) -> None:
    robot_id = unique_robot_id("gw")
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(
        f"manufacturer: HallFleet\nrobots:\n  - id: {robot_id}\n    kind: guidance\n"
        f"    home: wait-A\n    config: {GUIDANCE_CONFIG}\n",
        encoding="utf-8",
    )
    broker_port, link = free_port(), tmp_path / "base"
    robot_data = tmp_path / "robot-data"
    settings = Settings(
        data_dir=tmp_path / "fleet-data",
        http_port=free_port(),
        embedded_broker_port=broker_port,
        fleet_file=fleet_file,
        site_dir=SITE_DIR,
    )
    firmware = robot = None
    with TestClient(create_app(settings)) as client:
        try:
            firmware = start(
                [
                    "-m",
                    "robots.sim.firmware",
                    "--link",
                    str(link),
                    "--time-scale",
                    str(ROBOT_TIME_SCALE),
                    "--compartments",
                    "1",
                ],
                tmp_path / "firmware.log",
            )
            wait_for(lambda: link.is_symlink() or firmware.poll() is not None, 10.0, "the firmware pty link")
            robot = start(
                [
                    "-m",
                    "hallfleet_apps.cli",
                    "robot",
                    "run",
                    "--robot",
                    robot_id,
                    "--serial-url",
                    str(link),
                    "--mqtt-url",
                    f"mqtt://127.0.0.1:{broker_port}",
                    "--time-scale",
                    str(ROBOT_TIME_SCALE),
                    "--data-dir",
                    str(robot_data),
                    "--site",
                    str(SITE_DIR),
                    "--fleet",
                    str(fleet_file),
                ],
                tmp_path / "robot.log",
            )

            def robot_summary() -> dict | None:
                return next(
                    (
                        r
                        for r in client.get("/api/robots").json()
                        if r["id"] == robot_id and r["online"] and r["battery_pct"] is not None
                    ),
                    None,
                )

            try:
                wait_for(robot_summary, START_TIMEOUT_S, "the guidance robot online", poll_s=0.2)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n--- robot log ---\n{tail(tmp_path / 'robot.log')}") from None

            issued = (datetime.now(CST) - timedelta(minutes=16)).isoformat()
            response = client.post(
                "/api/queue/events",
                json={
                    "ticket": "B023",
                    "event": "issued",
                    "service": "residence-permit",
                    "zone": "wait-B",
                    "at": issued,
                },
            )
            assert response.status_code == 200 and response.json()["outcome"] == "created"

            def visit(states: set[str]) -> dict | None:
                return next(
                    (
                        v
                        for v in client.get("/api/queue/visits").json()
                        if v["ticket"] == "B023" and v["state"] in states
                    ),
                    None,
                )

            assert visit({"en_route"}) or visit({"greeting", "greeted"}), client.get("/api/queue/visits").json()
            try:
                done = wait_for(lambda: visit({"greeted", "failed"}), VISIT_TIMEOUT_S, "the greeting", poll_s=0.2)
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}\nvisits: {client.get('/api/queue/visits').json()}\n"
                    f"--- robot log ---\n{tail(tmp_path / 'robot.log')}"
                ) from None
            assert done["state"] == "greeted", done
            assert done["robot_id"] == robot_id and done["waited_min"] >= 16

            # it is standing in waiting zone B, and the greeting is a Mandarin WAV of a few seconds
            here = robot_summary()
            assert here["last_node_id"] == "wp-L1-wait-B"
            assert abs(here["x_m"] - 46.0) < 0.6 and abs(here["y_m"] - 22.6) < 0.6
            wav_path = Path(done["wav_path"])
            assert wav_path.is_relative_to(robot_data) and wav_path.exists()
            with wave.open(str(wav_path)) as wav:
                assert (wav.getframerate(), wav.getnchannels()) == (22050, 1)
                assert wav.getnframes() / wav.getframerate() > 3.0

            # still waiting after the greeting: listed with its one visit, and no second one was started
            (listed,) = [t for t in client.get("/api/queue/waiting").json()["tickets"] if t["ticket"] == "B023"]
            assert listed["visit"] == {"robot_id": robot_id, "state": "greeted"}
            assert [v["ticket"] for v in client.get("/api/queue/visits").json()] == ["B023"]
        finally:
            stop_process(robot)
            stop_process(firmware)
