"""paho-mqtt 2 client set-up shared by the fleet manager, the robots and the simulators.

Every client: MQTT 3.1.1, TCP_NODELAY (paho never sets it: paced publishing otherwise waits 20-40 ms
on Nagle), automatic reconnects with backoff, and only loopback or configured brokers. A client that
receives a flood (the fleet manager) also acknowledges promptly (``ack_now``).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_mqtt_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:port]`` or ``mqtts://...``; raise ValueError naming the problem."""
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "mqtts", "tcp"):
        raise ValueError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parsed.hostname:
        raise ValueError(f"MQTT URL {url!r}: no host")
    tls = parsed.scheme == "mqtts"
    return BrokerAddress(parsed.hostname, parsed.port or (8883 if tls else 1883), parsed.username, parsed.password, tls)


def _set_nodelay(_client: mqtt.Client, _userdata: object, sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def ack_now(client: mqtt.Client) -> None:
    """Have the kernel acknowledge what paho has just read now, not after the delayed-ACK timer.

    A broker that does not set TCP_NODELAY (Mosquitto's default, and the system broker's
    configuration is not ours) holds each further small message back until the previous one is
    acknowledged (Nagle), and Linux delays that ACK by 40 ms: under telemetry load 1-2 % of
    messages to the fleet arrived 40-47 ms late. TCP_QUICKACK is not sticky (the kernel may fall
    back to delayed ACKs), so the receiver sets it again after every message; one cheap syscall.
    """
    if _TCP_QUICKACK is None:
        return
    sock = client.socket()
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
    except (OSError, AttributeError, TypeError):  # closed meanwhile, or not a TCP socket (e.g. websockets)
        pass


def make_client(client_id: str, url: str, *, burst_reads: bool = False) -> tuple[mqtt.Client, BrokerAddress]:
    """A configured but not yet connected client; set callbacks and will, then ``connect_async``.

    ``burst_reads``: for a client that receives a flood (the fleet manager), see ``BurstReadClient``.
    """
    address = parse_mqtt_url(url)
    cls = BurstReadClient if burst_reads and BurstReadClient.supported() else mqtt.Client
    client = cls(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.on_socket_open = _set_nodelay
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    return client, address


class BurstReadClient(mqtt.Client):
    """paho reading many packets per socket read instead of one packet per select() and 3+ recv()s.

    paho 2 reads a packet's type byte, each length byte and the body with separate recv() calls and
    handles one packet per pass of its network loop (one select() each): at thousands of telemetry
    messages per second that is most of the fleet's MQTT thread. This client reads up to 64 KiB
    per recv() and serves paho's small reads from that buffer. A pass never ends with bytes left in
    the buffer (select() cannot see them): it keeps handling packets until the buffer is empty, and
    after ``FRESH_READS_PER_PASS`` socket reads it only finishes what is buffered, so paho's
    keepalive still runs under a flood. Relies on paho's ``_sock_recv``/``_sock``; ``supported()``
    falls back to the plain client if a paho release renames them.
    """

    CHUNK_BYTES = 65536
    FRESH_READS_PER_PASS = 16

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rx_buffer = b""
        self._rx_pos = 0
        self._rx_sock: object = None
        self._rx_fresh_left = 0

    @staticmethod
    def supported() -> bool:
        return callable(getattr(mqtt.Client, "_sock_recv", None)) and callable(getattr(mqtt.Client, "loop_read", None))

    def _sock_recv(self, bufsize: int) -> bytes:
        sock = getattr(self, "_sock", None)
        if sock is not self._rx_sock:  # a new connection: nothing buffered belongs to it
            self._rx_buffer, self._rx_pos, self._rx_sock = b"", 0, sock
        if self._rx_pos >= len(self._rx_buffer):
            if self._rx_fresh_left <= 0:
                raise BlockingIOError  # paho keeps the partial packet and waits for select()
            self._rx_fresh_left -= 1
            data = super()._sock_recv(self.CHUNK_BYTES)
            if len(data) <= bufsize:  # includes b"" (connection closed)
                self._rx_buffer, self._rx_pos = b"", 0
                return data
            self._rx_buffer, self._rx_pos = data, 0
        start_pos = self._rx_pos
        chunk = self._rx_buffer[start_pos : start_pos + bufsize]
        self._rx_pos = start_pos + len(chunk)
        return chunk

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        self._rx_fresh_left = self.FRESH_READS_PER_PASS
        while True:
            rc = super().loop_read(max_packets)
            if rc or getattr(self, "_sock", None) is None or self._rx_pos >= len(self._rx_buffer):
                return rc


def start(client: mqtt.Client, address: BrokerAddress, keepalive_s: int = 10) -> None:
    """Connect in the background and keep reconnecting; callbacks run on paho's own thread."""
    client.connect_async(address.host, address.port, keepalive=keepalive_s)
    client.loop_start()
