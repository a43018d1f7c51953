"""A VDA 5050 2.1 vehicle of another make, written for the tests from the standard's text alone.

It imports nothing of HallFleet: plain paho-mqtt and JSON dictionaries, so a test with it shows that
the fleet manager works with any vehicle that speaks the standard, not only with its own code. It
declares only driving, ``pick`` and ``drop``; it "drives" by arriving at the next released node a
moment later, and carries out its node actions by itself.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt

STEP_S = 0.1  # time to reach the next node
ACTION_S = 0.3  # time a pick or a drop takes


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OtherMakeVehicle:
    def __init__(
        self,
        manufacturer: str,
        serial: str,
        x: float,
        y: float,
        map_id: str,
        node_id: str,
        host: str = "127.0.0.1",
        port: int = 1883,
        step_s: float = STEP_S,
        action_s: float = ACTION_S,
    ) -> None:
        self.manufacturer, self.serial = manufacturer, serial
        self.step_s, self.action_s = step_s, action_s
        self.prefix = f"uagv/v2/{manufacturer}/{serial}"
        self.x, self.y, self.map_id = x, y, map_id
        self.last_node_id, self.last_node_seq = node_id, 0
        self.order_id, self.order_update_id = "", 0
        self.nodes: list[dict[str, Any]] = []  # not yet reached, in order
        self.edges: list[dict[str, Any]] = []
        self.actions: dict[str, dict[str, Any]] = {}  # actionId -> actionState
        self.running_since: dict[str, float] = {}
        self.orders_received: list[dict[str, Any]] = []
        self.instant_actions_received: list[dict[str, Any]] = []
        self.header_ids: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"othermake-{serial}", protocol=mqtt.MQTTv311
        )
        self.client.will_set(
            f"{self.prefix}/connection", json.dumps(self._connection("CONNECTIONBROKEN")), qos=1, retain=True
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # -- messages out
    def _header(self, topic: str) -> dict[str, Any]:
        self.header_ids[topic] = self.header_ids.get(topic, -1) + 1
        return {
            "headerId": self.header_ids[topic],
            "timestamp": _now(),
            "version": "2.1.0",
            "manufacturer": self.manufacturer,
            "serialNumber": self.serial,
        }

    def _connection(self, state: str) -> dict[str, Any]:
        return {**self._header("connection"), "connectionState": state}

    def _factsheet(self) -> dict[str, Any]:
        station = {"key": "stationName", "valueDataType": "STRING", "isOptional": True}
        return {
            **self._header("factsheet"),
            "typeSpecification": {
                "seriesName": "OM-1",
                "agvKinematic": "DIFF",
                "agvClass": "CARRIER",
                "maxLoadMass": 20.0,
                "localizationTypes": ["NATURAL"],
                "navigationTypes": ["AUTONOMOUS"],
            },
            "physicalParameters": {
                "speedMin": 0.0,
                "speedMax": 1.0,
                "accelerationMax": 0.5,
                "decelerationMax": 0.5,
                "heightMax": 1.2,
                "width": 0.6,
                "length": 0.8,
            },
            "protocolLimits": {
                "maxStringLens": {},
                "maxArrayLens": {},
                "timing": {"minOrderInterval": 0.1, "minStateInterval": 0.1},
            },
            "protocolFeatures": {
                "optionalParameters": [],
                "agvActions": [
                    {
                        "actionType": t,
                        "actionScopes": ["NODE"],
                        "blockingTypes": ["HARD"],
                        "actionParameters": [station],
                    }
                    for t in ("pick", "drop")
                ],
            },
            "agvGeometry": {},
            "loadSpecification": {"loadPositions": ["tray"]},
        }

    def _state(self) -> dict[str, Any]:
        return {
            **self._header("state"),
            "orderId": self.order_id,
            "orderUpdateId": self.order_update_id,
            "lastNodeId": self.last_node_id,
            "lastNodeSequenceId": self.last_node_seq,
            "nodeStates": [
                {"nodeId": n["nodeId"], "sequenceId": n["sequenceId"], "released": n["released"]} for n in self.nodes
            ],
            "edgeStates": [
                {"edgeId": e["edgeId"], "sequenceId": e["sequenceId"], "released": e["released"]} for e in self.edges
            ],
            "driving": bool(self.nodes and self.nodes[0]["released"] and not self._busy()),
            "agvPosition": {"x": self.x, "y": self.y, "theta": 0.0, "mapId": self.map_id, "positionInitialized": True},
            "actionStates": list(self.actions.values()),
            "batteryState": {"batteryCharge": 80.0, "charging": False},
            "operatingMode": "AUTOMATIC",
            "errors": [],
            "safetyState": {"eStop": "NONE", "fieldViolation": False},
        }

    def publish_state(self) -> None:
        with self._lock:
            state = self._state()
        self.client.publish(f"{self.prefix}/state", json.dumps(state), qos=0)

    # -- messages in
    def _on_connect(self, client: mqtt.Client, _u, _f, reason_code, _p) -> None:
        if reason_code.is_failure:
            return
        client.subscribe([(f"{self.prefix}/order", 1), (f"{self.prefix}/instantActions", 1)])
        client.publish(f"{self.prefix}/connection", json.dumps(self._connection("ONLINE")), qos=1, retain=True)
        client.publish(f"{self.prefix}/factsheet", json.dumps(self._factsheet()), qos=1, retain=True)
        self.publish_state()

    def _on_message(self, _c, _u, message: mqtt.MQTTMessage) -> None:
        payload = json.loads(message.payload)
        if message.topic.endswith("/order"):
            with self._lock:
                self.orders_received.append(payload)
                self._take_order(payload)
        elif message.topic.endswith("/instantActions"):
            with self._lock:  # stateRequest and the like: the state published below answers them
                self.instant_actions_received.extend(payload.get("actions", []))
        self.publish_state()

    def _take_order(self, order: dict[str, Any]) -> None:
        if order["orderId"] == self.order_id and order["orderUpdateId"] <= self.order_update_id:
            return  # a resent update: nothing new
        new_order = order["orderId"] != self.order_id
        if new_order:  # starts where the vehicle stands
            first = order["nodes"][0]
            self.last_node_id, self.last_node_seq = first["nodeId"], first["sequenceId"]
        self.order_id, self.order_update_id = order["orderId"], order["orderUpdateId"]
        self.nodes = [n for n in order["nodes"] if n["sequenceId"] > self.last_node_seq]
        self.edges = [e for e in order["edges"] if e["sequenceId"] > self.last_node_seq]
        for node in order["nodes"]:
            for action in node.get("actions", []):
                self.actions.setdefault(
                    action["actionId"],
                    {"actionId": action["actionId"], "actionType": action["actionType"], "actionStatus": "WAITING"},
                )
        if new_order:
            self._start_actions(order["nodes"][0])

    # -- driving and acting
    def _busy(self) -> bool:
        return any(a["actionStatus"] in ("INITIALIZING", "RUNNING") for a in self.actions.values())

    def _start_actions(self, node: dict[str, Any]) -> None:
        for action in node.get("actions", []):
            if self.actions[action["actionId"]]["actionStatus"] == "WAITING":
                self.actions[action["actionId"]]["actionStatus"] = "RUNNING"
                self.running_since[action["actionId"]] = time.monotonic()

    def _tick(self) -> bool:
        changed = False
        for action_id, since in list(self.running_since.items()):
            if time.monotonic() - since >= self.action_s:
                self.actions[action_id]["actionStatus"] = "FINISHED"
                del self.running_since[action_id]
                changed = True
        if self.nodes and self.nodes[0]["released"] and not self._busy():
            node = self.nodes.pop(0)
            if self.edges:
                self.edges.pop(0)
            self.last_node_id, self.last_node_seq = node["nodeId"], node["sequenceId"]
            position = node.get("nodePosition") or {}
            self.x, self.y = position.get("x", self.x), position.get("y", self.y)
            self._start_actions(node)
            changed = True
        return changed

    def _run(self) -> None:
        last_publish = 0.0
        while not self._stop.wait(self.step_s):
            with self._lock:
                changed = self._tick()
            if changed or time.monotonic() - last_publish >= 1.0:
                self.publish_state()
                last_publish = time.monotonic()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        for kind in ("connection", "factsheet"):
            self.client.publish(f"{self.prefix}/{kind}", b"", qos=1, retain=True).wait_for_publish(timeout=5.0)
        self.client.disconnect()
        self.client.loop_stop()
