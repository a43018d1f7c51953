"""The fleet manager's MQTT side: VDA 5050 master for vehicles and the elevator controllers' link.

paho runs its own network thread; every received message is handed to the asyncio loop with
``call_soon_threadsafe``, so the fleet service only ever runs on the loop's thread. Every (re)connect
to the broker calls ``on_connected`` there too: after a broker restart the fleet asks for states.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from hallfleet.mqtt import make_client, start
from hallfleet.protocol import elevator as ev
from hallfleet.protocol import vda5050 as v

log = logging.getLogger(__name__)

VehicleHandler = Callable[[str, str, str, Any], None]  # manufacturer, serial, kind, message
ElevatorHandler = Callable[[ev.ElevatorStatus], None]


class MqttFleetMaster:
    def __init__(
        self,
        url: str,
        loop: asyncio.AbstractEventLoop,
        on_vehicle: VehicleHandler,
        on_elevator: ElevatorHandler,
        client_id: str = "hallfleet-fleet-manager",
        on_connected: Callable[[], None] = lambda: None,
    ) -> None:
        self._loop = loop
        self._on_vehicle, self._on_elevator, self._on_connected = on_vehicle, on_elevator, on_connected
        self.headers: dict[tuple[str, str], v.HeaderIds] = {}
        self.client, self._address = make_client(client_id, url)
        self.client.on_connect = self._handle_connect
        self.client.on_message = self._handle_message
        self.connected = asyncio.Event()
        self.rejected_messages = 0

    def start(self) -> None:
        start(self.client, self._address)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _handle_connect(self, client: mqtt.Client, _u, _f, reason_code, _p) -> None:
        if reason_code.is_failure:
            log.error("broker refused the fleet manager: %s", reason_code)
            return
        client.subscribe([
            (f"{v.INTERFACE}/{v.MAJOR}/+/+/state", 0),
            (f"{v.INTERFACE}/{v.MAJOR}/+/+/connection", 1),
            (f"{v.INTERFACE}/{v.MAJOR}/+/+/factsheet", 1),
            (f"{v.INTERFACE}/{v.MAJOR}/+/+/visualization", 0),
            (ev.STATE_TOPIC_FILTER, 0),
        ])
        self._loop.call_soon_threadsafe(self.connected.set)
        self._loop.call_soon_threadsafe(self._on_connected)  # (re)connected: vehicles may have moved on

    def _handle_message(self, _c, _u, message: mqtt.MQTTMessage) -> None:
        try:
            if message.topic.startswith(f"{v.INTERFACE}/"):
                manufacturer, serial, kind = v.parse_topic(message.topic)
                if kind in ("order", "instantActions"):
                    return
                decoded = v.decode(kind, message.payload, message.topic)
                self._loop.call_soon_threadsafe(self._on_vehicle, manufacturer, serial, kind, decoded)
            elif message.topic.endswith("/state"):
                status = ev.ElevatorStatus.from_json(message.payload, message.topic)
                self._loop.call_soon_threadsafe(self._on_elevator, status)
        except (v.ProtocolError, ev.ElevatorMessageError) as exc:
            self.rejected_messages += 1
            log.warning("rejected MQTT message: %s", exc)

    def _header(self, manufacturer: str, serial: str, kind: str) -> dict[str, Any]:
        ids = self.headers.setdefault((manufacturer, serial), v.HeaderIds())
        return {"headerId": ids.next(kind), "timestamp": v.utc_timestamp(), "version": v.VERSION,
                "manufacturer": manufacturer, "serialNumber": serial}

    def send_order(self, manufacturer: str, serial: str, order: v.Order) -> v.Order:
        stamped = order.model_copy(update=self._header(manufacturer, serial, "order"))
        self.client.publish(v.topic(manufacturer, serial, "order"), v.encode(stamped), qos=1)
        return stamped

    def send_instant_actions(self, manufacturer: str, serial: str, actions: list[v.Action]) -> v.InstantActions:
        message = v.InstantActions(**self._header(manufacturer, serial, "instantActions"), actions=actions)
        self.client.publish(v.topic(manufacturer, serial, "instantActions"), v.encode(message), qos=1)
        return message

    def send_elevator_request(self, elevator_id: str, request: ev.ElevatorRequest) -> None:
        self.client.publish(ev.request_topic(elevator_id), request.to_json().encode(), qos=1)
