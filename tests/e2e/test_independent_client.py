"""A plain rclpy script that knows only topic names and standard types watches a robot of the demo.

`hallfleet demo` runs on this test run's ROS_DOMAIN_ID; a delivery sends a robot driving to the
pickup window; tools/watch_robot.py, a separate process on the same domain, sees it move toward the
window, its battery fall, and its serial link reported OK on /diagnostics.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import free_port, stop_process

from maps.site import load_site

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WATCH_SECONDS = 20.0
# At 5x a robot needs about 10 s from its dock to win-A01, so the watcher (started once the robot is
# assigned, discovery included) sees it drive; the battery still falls measurably (~0.15 % in 20 s).
TIME_SCALE = 5.0


def _wait_for_ctrl_c_line(demo: subprocess.Popen, timeout_s: float) -> list[str]:
    printed: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not any("Ctrl-C" in line for line in printed):
        line = demo.stdout.readline()
        if not line and demo.poll() is not None:
            break
        printed.append(line)
    return printed


def _wait_for_robot(base_url: str, delivery_id: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    delivery: dict = {}
    while time.monotonic() < deadline:
        delivery = httpx.get(f"{base_url}/api/deliveries/{delivery_id}", timeout=5).json()
        if delivery.get("robot_id"):
            return delivery["robot_id"]
        time.sleep(0.1)
    raise AssertionError(f"delivery {delivery_id} got no robot within {timeout_s:.0f} s: {delivery}")


def test_plain_rclpy_script_sees_the_robot_drive_drain_and_report_its_link(tmp_path: Path) -> None:
    domain_id = os.environ["ROS_DOMAIN_ID"]  # tests/conftest.py picked a random one for this run
    env = {**os.environ, "ROS_DOMAIN_ID": domain_id}
    http_port = free_port()
    base_url = f"http://127.0.0.1:{http_port}"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hallfleet_apps.cli",
            "demo",
            "--data-dir",
            str(tmp_path / "hall-data"),
            "--http-port",
            str(http_port),
            "--broker-port",
            str(free_port()),
            "--time-scale",
            str(TIME_SCALE),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watcher: subprocess.Popen | None = None
    try:
        printed = _wait_for_ctrl_c_line(demo, timeout_s=180)
        assert any(f"ROS_DOMAIN_ID={domain_id}" in line for line in printed), "".join(printed)

        created = httpx.post(
            f"{base_url}/api/deliveries",
            timeout=10,
            json={
                "sender": {"place_id": "win-A01", "person": "王敏"},
                "recipient": {"place_id": "dept-hrss", "person": "李科长"},
                "documents": [{"barcode": "SH-WATCH-0001", "title": "营业执照设立登记申请书"}],
            },
        )
        assert created.status_code == 201, created.text
        robot_id = _wait_for_robot(base_url, created.json()["delivery"]["id"], timeout_s=30)

        # Only the domain id is shared; the script is started from a clean slate of its own.
        watcher_env = {
            k: v for k, v in env.items() if k not in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "FASTDDS_DEFAULT_PROFILES_FILE")
        }
        watcher = subprocess.Popen(
            [sys.executable, str(REPO / "tools/watch_robot.py"), robot_id, "--seconds", str(WATCH_SECONDS), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=watcher_env,
        )
        out, err = watcher.communicate(timeout=WATCH_SECONDS + 60)
        assert watcher.returncode == 0, f"watch_robot exit {watcher.returncode}\n{out[-2000:]}\n{err[-2000:]}"
        lines = out.strip().splitlines()
        assert len(lines) >= WATCH_SECONDS - 2, out  # one line per second, then the summary
        summary = json.loads(lines[-1])
        print(lines[-1])  # shown with -s / on failure

        assert summary["robot_id"] == robot_id
        assert summary["samples"]["pose"] > 10, summary
        assert summary["first_pose"]["frame_id"] == "map"
        window = load_site(REPO / "maps/demo_hall").place("win-A01").pose

        def to_window_m(pose: dict) -> float:
            return math.hypot(pose["x_m"] - window.x_m, pose["y_m"] - window.y_m)

        assert summary["distance_m"] > 2.0, summary
        assert to_window_m(summary["last_pose"]) < to_window_m(summary["first_pose"]) - 2.0, summary
        assert summary["samples"]["battery"] > 3, summary
        assert summary["battery_last_pct"] > 0
        assert summary["battery_last_pct"] < summary["battery_first_pct"], summary  # drains while driving
        assert "OK" in summary["diagnostics_levels"], summary
        assert int(summary["link"]["frames_ok"]) > 0, summary
    finally:
        if watcher is not None and watcher.poll() is None:
            watcher.kill()
            watcher.wait(10)
        stop_process(demo, signal.SIGINT, timeout_s=60)
    assert demo.returncode == 0
