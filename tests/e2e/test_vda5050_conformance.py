"""Every VDA 5050 message on a real Mosquitto during a whole demo delivery conforms to the official schema.

The demo hall runs its smoke delivery against a Mosquitto of the test's own; a plain paho client
subscribed to ``uagv/#`` captures what both sides sent (the fleet manager's orders and instant
actions, the vehicles' connection, factsheet, state and visualization) and each is validated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from support import free_port, stop_process
from vda_schemas import KINDS, schema_errors

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto is not installed (make test installs it)"),
]

FROM_FLEET = ("order", "instantActions")
FROM_VEHICLES = ("connection", "factsheet", "state", "visualization")


class Capture:
    """Every message under uagv/# with its topic, as the broker delivered it."""

    def __init__(self, port: int) -> None:
        self.messages: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="conformance-capture", protocol=mqtt.MQTTv311
        )
        self.client.on_connect = lambda c, *_a: c.subscribe("uagv/#", qos=1)
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self._subscribed.wait(10.0), "the capture client got no SUBACK"

    def _on_message(self, _c, _u, message: mqtt.MQTTMessage) -> None:
        if message.payload:
            with self._lock:
                self.messages[message.topic.rsplit("/", 1)[-1]].append((message.topic, message.payload))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_every_message_of_a_demo_delivery_validates_against_the_official_schemas(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8")
    with open(tmp_path / "mosquitto.log", "wb") as log:
        broker = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    capture = None
    try:
        deadline = time.monotonic() + 10.0
        while True:
            try:
                capture = Capture(port)
                break
            except (ConnectionRefusedError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        command = [
            sys.executable,
            "-m",
            "hallfleet_apps.cli",
            "demo",
            "--smoke",
            "--data-dir",
            str(tmp_path / "data"),
            "--http-port",
            str(free_port()),
            "--mqtt-url",
            f"mqtt://127.0.0.1:{port}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ.copy())
        assert result.returncode == 0, (
            f"exit {result.returncode}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-3000:]}"
        )
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["delivered"] is True
    finally:
        if capture is not None:
            capture.close()
        stop_process(broker, timeout_s=10.0)

    messages = capture.messages
    missing = [kind for kind in KINDS if not messages.get(kind)]
    assert not missing, f"no {missing} captured; got {sorted(messages)}"
    problems: list[str] = []
    for kind, items in messages.items():
        if kind not in KINDS:
            problems.append(f"{items[0][0]}: not a VDA 5050 topic")
            continue
        for topic, payload in items:
            message = json.loads(payload)
            problems += [f"{topic} #{message.get('headerId')}: {error}" for error in schema_errors(kind, message)]
            manufacturer, serial = topic.split("/")[2:4]
            if (message.get("manufacturer"), message.get("serialNumber")) != (manufacturer, serial):
                problems.append(f"{topic}: header names {message.get('manufacturer')}/{message.get('serialNumber')}")
            if message.get("version") != "2.1.0":
                problems.append(f"{topic} #{message.get('headerId')}: version {message.get('version')!r}")
    assert not problems, f"{len(problems)} schema problems, first ones:\n" + "\n".join(problems[:20])
    # the fleet's own messages are there in numbers, not just one of each
    assert len(messages["order"]) >= 3, "a cross-floor delivery is several orders and updates"
    assert {json.loads(p)["actions"][0]["actionType"] for _, p in messages["instantActions"]} >= {"stateRequest"}
    # headerIds count up per topic on each side
    for kind in FROM_FLEET + FROM_VEHICLES:
        per_topic: dict[str, list[int]] = defaultdict(list)
        for topic, payload in messages[kind]:
            per_topic[topic].append(json.loads(payload)["headerId"])
        for topic, ids in per_topic.items():
            if kind in ("connection", "factsheet"):
                continue  # retained: a late subscriber sees the last one first
            assert ids == sorted(ids), f"{topic}: headerIds out of order {ids[:10]}"
