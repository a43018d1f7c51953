"""MqttFleetMaster's hand-over from paho's thread to the loop: batched, ordered, never crashing.

No broker: the tests call the paho callbacks the way paho's network thread does (from another
thread, with MQTTMessage objects) and run the asyncio loop until the fleet has seen everything.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from fleet_api.adapters import mqtt_master as mm
from hallfleet.mqtt import ack_now
from hallfleet.protocol import elevator as ev
from hallfleet.protocol import vda5050 as v

MAKER = "TestMake"
WAIT_S = 10.0  # upper bound for every wait; the tests never assert timings


def _message(topic: str, payload: bytes) -> mqtt.MQTTMessage:
    message = mqtt.MQTTMessage(topic=topic.encode())
    message.payload = payload
    return message


def _visualization(serial: str, header_id: int, x_m: float = 1.0) -> mqtt.MQTTMessage:
    body = {
        "headerId": header_id,
        "timestamp": "2025-01-01T00:00:00.000Z",
        "version": v.VERSION,
        "manufacturer": MAKER,
        "serialNumber": serial,
        "agvPosition": {"x": x_m, "y": 2.0, "theta": 0.0, "mapId": "floor1"},
    }
    return _message(v.topic(MAKER, serial, "visualization"), json.dumps(body).encode())


def _state(serial: str, header_id: int) -> mqtt.MQTTMessage:
    body = v.State(
        headerId=header_id,
        timestamp="2025-01-01T00:00:00.000Z",
        manufacturer=MAKER,
        serialNumber=serial,
        batteryState=v.BatteryState(batteryCharge=80.0, charging=False),
    )
    return _message(v.topic(MAKER, serial, "state"), v.encode(body))


def _elevator(level: int) -> mqtt.MQTTMessage:
    status = ev.ElevatorStatus(elevator_id="e1", level=level, door="closed", moving=False, direction="none")
    return _message("hallfleet/elevators/e1/state", status.to_json().encode())


class Harness:
    """A master on a private loop, recording what reaches the fleet side (in order)."""

    def __init__(self, on_vehicle: Callable[[str, str, str, Any], None] | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.seen: list[tuple[str, ...]] = []
        self.master = mm.MqttFleetMaster(
            "mqtt://127.0.0.1:1883",
            self.loop,
            on_vehicle or self._vehicle,
            self._elevator,
            client_id="test-batching",
            on_connected=lambda: self.seen.append(("connected",)),
        )

    def _vehicle(self, manufacturer: str, serial: str, kind: str, message: Any) -> None:
        self.seen.append((kind, serial, message.headerId))

    def _elevator(self, status: ev.ElevatorStatus) -> None:
        self.seen.append(("elevator", status.elevator_id, status.level))

    def deliver(self, messages: list[mqtt.MQTTMessage]) -> None:
        """Feed the messages from a thread of its own, as paho's network thread does."""
        thread = threading.Thread(
            target=lambda: [self.master._handle_message(self.master.client, None, m) for m in messages]
        )
        thread.start()
        thread.join(WAIT_S)
        assert not thread.is_alive()

    def run_until(self, count: int) -> None:
        async def wait() -> None:
            while len(self.seen) < count:
                await asyncio.sleep(0.001)

        self.loop.run_until_complete(asyncio.wait_for(wait(), WAIT_S))
        self.loop.run_until_complete(asyncio.sleep(0.01))  # nothing more arrives late

    def close(self) -> None:
        self.loop.close()


@pytest.fixture()
def harness():
    h = Harness()
    yield h
    h.close()


def test_messages_reach_the_fleet_in_arrival_order(harness: Harness) -> None:
    messages, expected = [], []
    for header_id in range(50):
        for serial in ("a", "b", "c"):
            messages.append(_visualization(serial, header_id))
            expected.append(("visualization", serial, header_id))
        if header_id % 10 == 0:
            messages.append(_state("b", header_id // 10))
            expected.append(("state", "b", header_id // 10))
            messages.append(_elevator(header_id // 10))
            expected.append(("elevator", "e1", header_id // 10))
    harness.deliver(messages)
    harness.run_until(len(expected))
    assert harness.seen == expected


def test_a_burst_wakes_the_loop_once(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    wakeups: list[Any] = []
    original = harness.loop.call_soon_threadsafe

    def counting(callback: Any, *args: Any) -> Any:
        wakeups.append(callback)
        return original(callback, *args)

    monkeypatch.setattr(harness.loop, "call_soon_threadsafe", counting)
    harness.deliver([_visualization("a", i) for i in range(300)])  # the loop is not running meanwhile
    assert len(wakeups) == 1
    harness.run_until(300)
    assert [m[2] for m in harness.seen] == list(range(300))
    harness.deliver([_visualization("a", 300)])  # the next message after a drain wakes the loop again
    harness.run_until(301)
    assert len(wakeups) == 2


def test_a_long_queue_is_drained_in_batches_in_order(harness: Harness) -> None:
    total = mm.DRAIN_BATCH_MAX * 2 + 7
    harness.deliver([_visualization("a", i) for i in range(total)])
    marks: list[int] = []
    harness.loop.call_soon_threadsafe(lambda: marks.append(len(harness.seen)))  # queued behind the first drain
    harness.run_until(total)
    assert [m[2] for m in harness.seen] == list(range(total))
    assert marks == [mm.DRAIN_BATCH_MAX]  # other callbacks run between batches


def test_malformed_payloads_are_counted_logged_with_topic_and_skipped(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bad = [
        _message(v.topic(MAKER, "a", "visualization"), b"{not json"),
        _message(
            v.topic(MAKER, "a", "visualization"), b'{"agvPosition": {"x": "far", "y": 0, "theta": 0, "mapId": "m"}}'
        ),
        _message(v.topic(MAKER, "a", "state"), b'{"headerId": 1}'),
        _message(v.topic(MAKER, "a", "visualization"), b"[" * 100_000),
        _message(v.topic(MAKER, "a", "visualization"), b"\xff\xfe"),
        _message("uagv/v2/too/many/parts/state", b"{}"),
        _message("hallfleet/elevators/e1/state", b'{"elevatorId": "e1"}'),
    ]
    with caplog.at_level(logging.WARNING, logger=mm.__name__):
        harness.deliver([_visualization("a", 0), *bad, _visualization("a", 1)])
        harness.run_until(2)
    assert harness.seen == [("visualization", "a", 0), ("visualization", "a", 1)]
    assert harness.master.rejected_messages == len(bad)
    rejections = [r.getMessage() for r in caplog.records if "rejected MQTT message" in r.getMessage()]
    assert len(rejections) == len(bad)
    for record, message in zip(rejections, bad):
        assert message.topic in record
    assert "field agvPosition.x" in rejections[1]
    assert "field timestamp" in rejections[2]  # the first missing required field


def test_an_unexpected_decoding_failure_is_rejected_not_raised(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_a: Any, **_k: Any) -> Any:
        raise MemoryError("simulated")  # anything a decoder might raise must not reach paho's thread

    good = _visualization("a", 1)
    monkeypatch.setattr(v, "decode", broken)
    with caplog.at_level(logging.WARNING, logger=mm.__name__):
        harness.master._handle_message(harness.master.client, None, _visualization("a", 0))
    monkeypatch.undo()
    harness.deliver([good])
    harness.run_until(1)
    assert harness.master.rejected_messages == 1
    assert any(v.topic(MAKER, "a", "visualization") in r.getMessage() for r in caplog.records)
    assert harness.seen == [("visualization", "a", 1)]


def test_a_failing_handler_does_not_drop_the_rest_of_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    def handler(_m: str, serial: str, _k: str, message: Any) -> None:
        if message.headerId == 1:
            raise RuntimeError("fleet bug")
        seen.append(message.headerId)

    h = Harness(on_vehicle=handler)
    try:
        with caplog.at_level(logging.ERROR, logger=mm.__name__):
            h.deliver([_visualization("a", i) for i in range(4)])
            h.loop.run_until_complete(asyncio.wait_for(_until(lambda: len(seen) == 3), WAIT_S))
        assert seen == [0, 2, 3]
        assert any("failed" in r.getMessage() and "'a'" in r.getMessage() for r in caplog.records)
    finally:
        h.close()


def test_connect_sets_connected_and_calls_on_connected_in_order(harness: Harness) -> None:
    subscribed: list[Any] = []

    class FakeClient:
        def subscribe(self, topics: Any) -> None:
            subscribed.append(topics)

    success = mqtt.ReasonCode(mqtt.PacketTypes.CONNACK, identifier=0)
    harness.deliver([_visualization("a", 0)])
    harness.master._handle_connect(FakeClient(), None, None, success, None)
    harness.deliver([_visualization("a", 1)])
    harness.run_until(3)
    assert harness.seen == [("visualization", "a", 0), ("connected",), ("visualization", "a", 1)]
    assert harness.master.connected.is_set()
    assert subscribed and any(t[0].endswith("/visualization") for t in subscribed[0])


def test_ack_now_is_harmless_without_a_connection() -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-ack", protocol=mqtt.MQTTv311)
    ack_now(client)  # not connected: no socket, nothing to do


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


def test_clearing_a_retained_message_is_not_a_rejection(harness: Harness) -> None:
    """An empty payload deletes a retained message (connection, factsheet): nothing to hand over."""
    harness.deliver(
        [
            _message(v.topic(MAKER, "a", "connection"), b""),
            _message(v.topic(MAKER, "a", "factsheet"), b""),
            _message(v.topic(MAKER, "a", "state"), b""),  # state is never retained: malformed
            _visualization("a", 0),
        ]
    )
    harness.run_until(1)
    assert harness.seen == [("visualization", "a", 0)]
    assert harness.master.rejected_messages == 1
