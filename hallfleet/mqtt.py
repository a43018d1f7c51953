"""paho-mqtt 2 client set-up shared by the fleet manager, the robots and the simulators.

Every client: MQTT 3.1.1, TCP_NODELAY (paho never sets it: paced publishing otherwise waits 20-40 ms
on Nagle), automatic reconnects with backoff, and only loopback or configured brokers.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
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


def make_client(client_id: str, url: str) -> tuple[mqtt.Client, BrokerAddress]:
    """A configured but not yet connected client; set callbacks and will, then ``connect_async``."""
    address = parse_mqtt_url(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.on_socket_open = _set_nodelay
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    return client, address


def start(client: mqtt.Client, address: BrokerAddress, keepalive_s: int = 10) -> None:
    """Connect in the background and keep reconnecting; callbacks run on paho's own thread."""
    client.connect_async(address.host, address.port, keepalive=keepalive_s)
    client.loop_start()
