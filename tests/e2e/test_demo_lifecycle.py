"""`hallfleet demo` stays up, prints its pages, and on Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import free_port, processes_mentioning, stop_process

pytestmark = pytest.mark.e2e


def test_demo_serves_pages_until_ctrl_c_then_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "hall-data"
    http_port = free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hallfleet_apps.cli",
            "demo",
            "--data-dir",
            str(data_dir),
            "--http-port",
            str(http_port),
            "--broker-port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        printed = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any("Ctrl-C" in line for line in printed):
            line = demo.stdout.readline()
            if not line and demo.poll() is not None:
                break
            printed.append(line)
        assert any(f"http://127.0.0.1:{http_port}/clerk" in line for line in printed), (
            "".join(printed) + demo.stderr.read()
        )
        assert any("/technician" in line for line in printed) and any("/kiosk" in line for line in printed)
        for page in ("clerk", "kiosk", "technician"):
            assert httpx.get(f"http://127.0.0.1:{http_port}/{page}", timeout=10).status_code == 200
        robots = httpx.get(f"http://127.0.0.1:{http_port}/api/robots", timeout=10).json()
        assert {r["id"] for r in robots if r["online"]} == {"dr1", "dr2", "dr3", "gr1"}
        assert len(processes_mentioning(str(data_dir))) >= 9  # fleet, elevators, 4 firmwares, 4 robots

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while processes_mentioning(str(data_dir)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_mentioning(str(data_dir)) == []
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{http_port}/api/health", timeout=2)
    finally:
        stop_process(demo)  # after a failed assertion: it stops its children, then it is reaped
