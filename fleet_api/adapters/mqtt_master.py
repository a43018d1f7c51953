"""The fleet manager's MQTT side: VDA 5050 master for vehicles and the elevator controllers' link.

paho runs its own network thread, which parses and validates each payload; the fleet service only
ever runs on the asyncio loop's thread. Telemetry is the hot path (each vehicle: state at 1 Hz,
visualization at 10 Hz), so the paho thread does not wake the loop once per message: it appends
the decoded message to an inbox and schedules one drain callback only when none is pending; the
drain hands every queued message to the fleet in arrival order. Every (re)connect to the broker
goes through the same inbox and calls ``on_connected`` on the loop: after a broker restart the
fleet asks for states.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from hallfleet.mqtt import ack_now, make_client, start
from hallfleet.protocol import elevator as ev
from hallfleet.protocol import vda5050 as v

log = logging.getLogger(__name__)

VehicleHandler = Callable[[str, str, str, Any], None]  # manufacturer, serial, kind, message
ElevatorHandler = Callable[[ev.ElevatorStatus], None]

DRAIN_BATCH_MAX = 2000  # messages per drain callback: the loop still serves HTTP between batches
_VDA_PREFIX = f"{v.INTERFACE}/"
# VDA 5050 publishes these retained; an empty payload is MQTT's way to delete a retained message.
_RETAINED_KINDS = ("connection", "factsheet")


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
        self.client, self._address = make_client(client_id, url, burst_reads=True)
        self.client.on_connect = self._handle_connect
        self.client.on_message = self._handle_message
        self.connected = asyncio.Event()
        self.rejected_messages = 0  # malformed payloads, counted on paho's thread (only it writes)
        # Filled by paho's thread, emptied by the loop's; deque append/popleft are atomic under the GIL.
        self._inbox: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._drain_pending = False

    def start(self) -> None:
        start(self.client, self._address)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # ------------------------------------------------------------- paho's thread
    def _handle_connect(self, client: mqtt.Client, _u, _f, reason_code, _p) -> None:
        if reason_code.is_failure:
            log.error("broker refused the fleet manager: %s", reason_code)
            return
        client.subscribe(
            [
                (f"{v.INTERFACE}/{v.MAJOR}/+/+/state", 0),
                (f"{v.INTERFACE}/{v.MAJOR}/+/+/connection", 1),
                (f"{v.INTERFACE}/{v.MAJOR}/+/+/factsheet", 1),
                (f"{v.INTERFACE}/{v.MAJOR}/+/+/visualization", 0),
                (ev.STATE_TOPIC_FILTER, 0),
            ]
        )
        self._post(self._connected_now)  # (re)connected: vehicles may have moved on

    def _handle_message(self, client: mqtt.Client, _u, message: mqtt.MQTTMessage) -> None:
        ack_now(client)  # the system Mosquitto does not set TCP_NODELAY: see hallfleet.mqtt.ack_now
        topic = message.topic
        try:
            if topic.startswith(_VDA_PREFIX):
                manufacturer, serial, kind = v.parse_topic(topic)
                if kind in ("order", "instantActions"):
                    return
                if not message.payload and kind in _RETAINED_KINDS:
                    log.debug("retained %s of %s/%s cleared (empty payload)", kind, manufacturer, serial)
                    return
                decoded = v.decode(kind, message.payload, topic)
                self._post(self._on_vehicle, manufacturer, serial, kind, decoded)
            elif topic.endswith("/state"):
                self._post(self._on_elevator, ev.ElevatorStatus.from_json(message.payload, topic))
        except (v.ProtocolError, ev.ElevatorMessageError) as exc:
            self.rejected_messages += 1
            log.warning("rejected MQTT message: %s", exc)
        except Exception:  # noqa: BLE001 - a payload must never stop paho's network thread
            self.rejected_messages += 1
            log.exception("rejected MQTT message on %s: could not be decoded", topic)

    def _post(self, handler: Callable[..., None], *args: Any) -> None:
        """Queue a call for the loop; wake the loop only if no drain is pending already.

        Append first, then test the flag: the drain clears the flag before it empties the inbox, so
        a message appended while the flag still reads True is always seen by that drain.
        """
        self._inbox.append((handler, args))
        if not self._drain_pending:
            self._drain_pending = True
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed: the fleet is shutting down
                self._drain_pending = False

    # ------------------------------------------------------------ the loop's thread
    def _drain(self) -> None:
        """Hand queued messages to the fleet in arrival order, at most DRAIN_BATCH_MAX per call."""
        self._drain_pending = False
        inbox = self._inbox
        for _ in range(min(len(inbox), DRAIN_BATCH_MAX)):
            handler, args = inbox.popleft()
            try:
                handler(*args)
            except Exception:  # noqa: BLE001 - one failing message must not drop the rest of the batch
                log.exception(
                    "fleet handler %s failed on %s",
                    getattr(handler, "__qualname__", handler),
                    args[:3] if handler is self._on_vehicle else args,
                )
        if inbox and not self._drain_pending:  # more than one batch waiting: continue after other callbacks
            self._drain_pending = True
            self._loop.call_soon(self._drain)

    def _connected_now(self) -> None:
        self.connected.set()
        self._on_connected()

    # ------------------------------------------------------------------- sending
    def _header(self, manufacturer: str, serial: str, kind: str) -> dict[str, Any]:
        ids = self.headers.setdefault((manufacturer, serial), v.HeaderIds())
        return {
            "headerId": ids.next(kind),
            "timestamp": v.utc_timestamp(),
            "version": v.VERSION,
            "manufacturer": manufacturer,
            "serialNumber": serial,
        }

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
