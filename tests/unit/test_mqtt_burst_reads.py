"""BurstReadClient serves paho's small reads from one large socket read, without losing, reordering
or stranding bytes (select() cannot see bytes already in user space). A socketpair stands in for the
broker connection; the bytes are MQTT 3.1.1 PUBLISH packets (QoS 0) as a broker sends them."""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
import pytest

from hallfleet.mqtt import BurstReadClient, make_client


def _publish_packet(topic: str, payload: bytes) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic.encode() + payload
    length, remaining = b"", len(body)
    while True:
        byte, remaining = remaining % 128, remaining // 128
        length += bytes([byte | (128 if remaining else 0)])
        if not remaining:
            break
    return b"\x30" + length + body


@pytest.fixture()
def wired():
    """A BurstReadClient whose connection is one end of a socketpair; the test writes the other end."""
    client, _ = make_client("test-burst", "mqtt://127.0.0.1:1883", burst_reads=True)
    assert isinstance(client, BurstReadClient)
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours  # what paho's connect would have set
    received: list[tuple[str, bytes]] = []
    client.on_message = lambda _c, _u, m: received.append((m.topic, m.payload))
    yield client, broker, received
    client._sock = None
    ours.close()
    broker.close()


def _read_all(client: BurstReadClient) -> None:
    """What paho's loop does while select() reports the socket readable (bounded)."""
    for _ in range(1000):
        assert client.loop_read() == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        assert client._rx_pos >= len(client._rx_buffer)  # never returns with bytes only we can see
        try:
            if not client._sock.recv(1, socket.MSG_PEEK):
                return
        except BlockingIOError:
            return
    raise AssertionError("data kept arriving")


def test_many_packets_in_one_read_all_arrive_in_order(wired) -> None:
    client, broker, received = wired
    sent = [(f"uagv/v2/M/v{i % 7}/visualization", b'{"headerId": %d}' % i + b" " * (i % 300)) for i in range(500)]
    broker.sendall(b"".join(_publish_packet(t, p) for t, p in sent))
    _read_all(client)
    assert received == sent


def test_packets_split_anywhere_are_reassembled(wired) -> None:
    client, broker, received = wired
    sent = [("a/state", b"x" * 200), ("b/state", b"y" * 20000), ("c/state", b"z")]  # 20000: 3-byte length
    data = b"".join(_publish_packet(t, p) for t, p in sent)
    for cut in (1, 2, 3, 5, 210, 211, 9000, len(data) - 1):  # inside header, length, body
        received.clear()
        broker.sendall(data[:cut])
        _read_all(client)
        broker.sendall(data[cut:])
        _read_all(client)
        assert received == sent, cut


def test_a_flood_is_read_in_bounded_passes(wired) -> None:
    """One pass stops reading the socket after FRESH_READS_PER_PASS reads; the rest waits for select()."""
    client, broker, received = wired
    packet = _publish_packet("f/state", b"p" * 1000)
    count = (BurstReadClient.FRESH_READS_PER_PASS + 4) * BurstReadClient.CHUNK_BYTES // len(packet)
    broker.setblocking(False)
    data, sent_bytes = packet * count, 0
    passes = 0
    while len(received) < count and passes < 10_000:
        try:
            sent_bytes += broker.send(data[sent_bytes : sent_bytes + (1 << 20)])
        except BlockingIOError:
            pass
        client.loop_read()
        passes += 1
        assert client._rx_pos >= len(client._rx_buffer)
    assert len(received) == count
    assert passes > 1


def test_end_of_stream_is_reported_as_lost_connection(wired) -> None:
    client, broker, received = wired
    broker.sendall(_publish_packet("a/state", b"1"))
    broker.shutdown(socket.SHUT_WR)
    rc = client.loop_read()
    assert received == [("a/state", b"1")]
    assert rc == mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST or client.loop_read() == mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
