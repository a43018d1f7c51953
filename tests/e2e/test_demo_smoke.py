"""The demo hall's scripted smoke run, as `hallfleet demo --smoke` runs it: every real part at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from support import free_port

pytestmark = pytest.mark.e2e


def test_smoke_run_delivers_across_floors_and_speaks(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    command = [
        sys.executable,
        "-m",
        "hallfleet_apps.cli",
        "demo",
        "--smoke",
        "--data-dir",
        str(data_dir),
        "--http-port",
        str(free_port()),
        "--broker-port",
        str(free_port()),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ.copy())
    last_line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-3000:]}"
    )
    summary = json.loads(last_line)

    assert summary["delivered"] is True and summary["spoken"] is True
    assert summary["seconds"] > 0
    # the files' journey as the custody log tells it, in order, with an intact hash chain
    assert summary["custody_events"] == [
        "created",
        "assigned",
        "loaded",
        "departed",
        "elevator_boarded",
        "elevator_exited",
        "arrived",
        "unlocked_by_recipient",
        "delivered",
    ]
    assert summary["custody_intact"] is True
    states = summary["states"]
    assert states[0] == "requested" and states[-1] == "delivered"
    assert states.index("awaiting_load") < states.index("loaded") < states.index("awaiting_recipient")
    # the answer was really spoken: a Mandarin WAV of several seconds
    wav_path = Path(summary["wav_path"])
    assert wav_path.is_relative_to(data_dir)
    with wave.open(str(wav_path)) as wav:
        assert wav.getframerate() == 22050 and wav.getnchannels() == 1
        assert wav.getnframes() / wav.getframerate() > 2.0
    assert "营业执照" in summary["answer"]
    # the queue-ticket simulator's oldest ticket waited too long: the guidance robot went and greeted it
    assert any(
        v["robot_id"] == "gr1" and v["state"] == "greeted" and v["waited_min"] >= 15 for v in summary["queue_visits"]
    ), summary["queue_visits"]
    # everything it started has stopped: firmware simulators remove their pty links on exit
    assert not list((data_dir / "run").glob("*.tty"))
    assert (data_dir / "hallfleet.db").exists()
