"""The vehicle's side of the VDA 5050 MQTT link: orders and instant actions in; state, connection,
factsheet and visualization out. The last will marks the vehicle CONNECTIONBROKEN (QoS 1, retained)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import paho.mqtt.client as mqtt

from hallfleet.mqtt import make_client, start
from hallfleet.protocol import vda5050 as v

log = logging.getLogger(__name__)


class MqttVehicleLink:
    def __init__(
        self,
        url: str,
        manufacturer: str,
        serial_number: str,
        on_message: Callable[[str, v._Model], None],
        on_connected: Callable[[], None] = lambda: None,
        on_invalid: Callable[[str], None] = lambda _description: None,
    ) -> None:
        self.manufacturer, self.serial_number = manufacturer, serial_number
        self._on_message, self._on_connected, self._on_invalid = on_message, on_connected, on_invalid
        self.headers = v.HeaderIds()
        self.client, self._address = make_client(f"vehicle-{manufacturer}-{serial_number}", url)
        will = self._connection(v.ConnectionState.CONNECTIONBROKEN)
        self.client.will_set(self.topic("connection"), v.encode(will), qos=1, retain=True)
        self.client.on_connect = self._handle_connect
        self.client.on_message = self._handle_message
        self.connected = False

    def topic(self, kind: str) -> str:
        return v.topic(self.manufacturer, self.serial_number, kind)

    def start(self) -> None:
        start(self.client, self._address)

    def stop(self) -> None:
        if self.connected:
            info = self.client.publish(
                self.topic("connection"), v.encode(self._connection(v.ConnectionState.OFFLINE)), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    def _connection(self, state: v.ConnectionState) -> v.Connection:
        return v.Connection(
            headerId=self.headers.next("connection"),
            timestamp=v.utc_timestamp(),
            manufacturer=self.manufacturer,
            serialNumber=self.serial_number,
            connectionState=state,
        )

    def _handle_connect(self, client: mqtt.Client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("%s: broker refused connection: %s", self.serial_number, reason_code)
            return
        self.connected = True
        client.subscribe([(self.topic("order"), 1), (self.topic("instantActions"), 1)])
        client.publish(
            self.topic("connection"), v.encode(self._connection(v.ConnectionState.ONLINE)), qos=1, retain=True
        )
        self._on_connected()

    def _handle_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        try:
            _, serial, kind = v.parse_topic(message.topic)
            if serial != self.serial_number or kind not in ("order", "instantActions"):
                return  # amqtt 0.12 replays others' retained messages: filter by topic here
            self._on_message(kind, v.decode(kind, message.payload, message.topic))
        except v.ProtocolError as exc:
            log.error("%s: rejected message: %s", self.serial_number, exc)
            self._on_invalid(str(exc))

    def publish(self, kind: str, message: v._Model | dict, qos: int = 0, retain: bool = False) -> None:
        payload = (
            v.encode(message) if isinstance(message, v._Model) else v.json.dumps(message, ensure_ascii=False).encode()
        )
        self.client.publish(self.topic(kind), payload, qos=qos, retain=retain)
