"""`hallfleet broker config` against a real, private Mosquitto: vehicles cannot act as one another.

Mosquitto's ACL denials are silent (a denied publish still gets PUBACK, a denied subscription a
SUBACK), so every check observes delivery. A message that must NOT arrive is followed by a marker
from the same sender on the same path; MQTT keeps one sender's order, so once the marker arrived
the forbidden message would have arrived before it.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from hallfleet.protocol import elevator as ev
from hallfleet.protocol import vda5050 as v

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
pytestmark = pytest.mark.skipif(
    MOSQUITTO is None or shutil.which("mosquitto_passwd") is None,
    reason="Mosquitto not installed (Debian package 'mosquitto')",
)

TIMEOUT_S = 10.0
MAKER = "HallFleet"
FLEET_YAML = """manufacturer: HallFleet
robots:
  - {id: va, kind: delivery, home: dock-1}
  - {id: vb, kind: delivery, home: dock-2}
"""


@dataclass
class Broker:
    port: int
    credentials: dict[str, str]
    out_dir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mosquitto exited with {proc.returncode}: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"mosquitto did not listen on {port} within {TIMEOUT_S} s: {log.read_text()}")


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    # Not pytest's tmp_path: it is root-only (0700) and Mosquitto drops root privileges to user
    # 'mosquitto', which must reach the files the CLI wrote for it.
    work = Path(tempfile.mkdtemp(prefix="hallfleet-mosquitto-"))
    work.chmod(0o755)
    proc = None
    try:
        fleet = work / "fleet.yaml"
        fleet.write_text(FLEET_YAML, encoding="utf-8")
        out_dir, port = work / "broker", _free_port()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "hallfleet_apps.cli",
                "broker",
                "config",
                "--fleet",
                str(fleet),
                "--out-dir",
                str(out_dir),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        credentials = {line.split("\t")[0]: line.split("\t")[1] for line in result.stdout.splitlines() if "\t" in line}
        assert set(credentials) == {"fleet", "elevators", f"{MAKER}-va", f"{MAKER}-vb"}
        log = work / "mosquitto.log"
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(out_dir / "mosquitto.conf")], stdout=log_file, stderr=subprocess.STDOUT
            )
        _wait_listening(proc, port, log)
        yield Broker(port, credentials, out_dir)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(work, ignore_errors=True)


class Client:
    """A paho 2 client that records the CONNACK, SUBACKs and every message it receives."""

    def __init__(self, port: int, username: str | None, password: str | None) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv311
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack: queue.Queue = queue.Queue()
        self.subacks: queue.Queue = queue.Queue()
        self.messages: list[tuple[str, bytes]] = []
        self._arrived = threading.Condition()
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connack.put(rc)
        self.client.on_subscribe = lambda _c, _u, _mid, rcs, _p: self.subacks.put(rcs)
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, _c, _u, message: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append((message.topic, message.payload))
            self._arrived.notify_all()

    def connack_code(self) -> mqtt.ReasonCode:
        return self.connack.get(timeout=TIMEOUT_S)

    def subscribe(self, *topics: str) -> None:
        self.client.subscribe([(t, 1) for t in topics])
        self.subacks.get(timeout=TIMEOUT_S)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(timeout=TIMEOUT_S)

    def wait_for(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """Block until (topic, payload) arrived; return everything received up to then."""
        deadline = time.monotonic() + TIMEOUT_S
        with self._arrived:
            while (topic, payload) not in self.messages:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{payload!r} on {topic} not received within {TIMEOUT_S} s; got {self.messages}"
                    )
                self._arrived.wait(remaining)
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(broker: Broker) -> Iterator:
    clients: list[Client] = []

    def _connect(username: str | None, password: str | None = None, *, expect_ok: bool = True) -> Client:
        if username is not None and password is None:
            password = broker.credentials[username]
        client = Client(broker.port, username, password)
        clients.append(client)
        if expect_ok:
            code = client.connack_code()
            assert not code.is_failure, f"{username} refused: {code}"
        return client

    yield _connect
    for client in clients:
        client.close()


def test_vehicle_state_reaches_fleet_but_a_vehicle_cannot_publish_as_another(connect) -> None:
    fleet = connect("fleet")
    fleet.subscribe(f"{v.INTERFACE}/{v.MAJOR}/+/+/state", f"{v.INTERFACE}/{v.MAJOR}/+/+/connection")
    vehicle_a = connect(f"{MAKER}-va")

    vehicle_a.publish(v.topic(MAKER, "va", "state"), b"a-own-state")
    fleet.wait_for(v.topic(MAKER, "va", "state"), b"a-own-state")

    vehicle_a.publish(v.topic(MAKER, "vb", "state"), b"forged-b-state")
    vehicle_a.publish(v.topic(MAKER, "va", "connection"), b"marker")
    received = fleet.wait_for(v.topic(MAKER, "va", "connection"), b"marker")
    assert (v.topic(MAKER, "vb", "state"), b"forged-b-state") not in received


def test_vehicle_receives_only_its_own_orders(connect) -> None:
    vehicle_a = connect(f"{MAKER}-va")
    vehicle_b = connect(f"{MAKER}-vb")
    vehicle_a.subscribe(v.topic(MAKER, "vb", "order"), v.topic(MAKER, "va", "order"))
    vehicle_b.subscribe(v.topic(MAKER, "vb", "order"))
    fleet = connect("fleet")

    fleet.publish(v.topic(MAKER, "vb", "order"), b"order-for-b")
    fleet.publish(v.topic(MAKER, "va", "order"), b"order-for-a")
    vehicle_b.wait_for(v.topic(MAKER, "vb", "order"), b"order-for-b")
    received_by_a = vehicle_a.wait_for(v.topic(MAKER, "va", "order"), b"order-for-a")
    assert (v.topic(MAKER, "vb", "order"), b"order-for-b") not in received_by_a


def test_elevator_controller_and_fleet_talk(connect) -> None:
    controller = connect("elevators")
    controller.subscribe(ev.REQUEST_TOPIC_FILTER)
    fleet = connect("fleet")
    fleet.subscribe(ev.STATE_TOPIC_FILTER)

    fleet.publish(ev.request_topic("E1"), b"call")
    controller.wait_for(ev.request_topic("E1"), b"call")
    controller.publish(ev.state_topic("E1"), b"at-floor")
    fleet.wait_for(ev.state_topic("E1"), b"at-floor")


def test_wrong_password_is_refused(connect) -> None:
    client = connect(f"{MAKER}-va", "not-the-password", expect_ok=False)
    assert client.connack_code().is_failure


def test_anonymous_client_is_refused(connect) -> None:
    client = connect(None, expect_ok=False)
    assert client.connack_code().is_failure


def test_broker_files_are_not_world_readable(broker: Broker) -> None:
    for name in ("passwd", "acl", "mosquitto.conf"):
        assert os.stat(broker.out_dir / name).st_mode & 0o777 == 0o640, name
