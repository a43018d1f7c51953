"""A vehicle of another make joins by configuration and gets the work it can do (same-floor pick/drop).

The real fleet manager (``hallfleet fleet serve``) on the local Mosquitto, a fleet file naming the
vehicle, and tests/integration/othermake_vehicle.py: a VDA 5050 vehicle written from the standard
alone, sharing no code with HallFleet's robots.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
from fleet_process import fleet_manager, start_other_make, write_other_make_fleet
from fleet_process import get_json as _get
from fleet_process import post_json as _post
from robot_process import broker_reachable, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not broker_reachable(), reason="no MQTT broker (Mosquitto) on 127.0.0.1:1883"),
]


@pytest.fixture
def fleet_with_other_make(tmp_path: Path):
    serial = f"om{secrets.token_hex(3)}"
    ours = f"dr{secrets.token_hex(3)}"  # declared, never started: cross-floor work waits for it
    fleet_file = write_other_make_fleet(
        tmp_path / "fleet.yaml", serial, f"{{id: {ours}, kind: delivery, home: dock-1, compartments: 4}}"
    )
    with fleet_manager(tmp_path, fleet_file, "mqtt://127.0.0.1:1883") as base:
        vehicle = start_other_make(serial)
        try:
            wait_for(
                lambda: any(r["id"] == serial and r["online"] for r in _get(f"{base}/api/robots")),
                20.0,
                f"{serial} online in the fleet",
            )
            yield base, vehicle, tmp_path
        finally:
            vehicle.close()


def test_other_make_carries_a_same_floor_transfer_and_never_gets_cross_floor_work(fleet_with_other_make) -> None:
    base, vehicle, tmp_path = fleet_with_other_make
    same_floor = _post(
        f"{base}/api/deliveries",
        {
            "sender": {"place_id": "win-A01", "person": "王敏"},
            "recipient": {"place_id": "win-C01", "person": "李强"},
            "documents": [{"barcode": "SH-OM-1", "title": "社保转移申请"}],
        },
    )["delivery"]
    done = wait_for(
        lambda: (d := _get(f"{base}/api/deliveries/{same_floor['id']}"))["state"] == "delivered" and d,
        30.0,
        "the same-floor transfer delivered by the other make",
    )
    assert done["robot_id"] == vehicle.serial
    kinds = [(e["kind"], e["actor"]) for e in done["custody"]]
    assert ("loaded", vehicle.serial) in kinds and ("delivered", vehicle.serial) in kinds
    sent_actions = {a["actionType"] for o in vehicle.orders_received for n in o["nodes"] for a in n.get("actions", [])}
    assert sent_actions <= {"pick", "drop"}, f"the fleet sent actions the vehicle never declared: {sent_actions}"
    assert {"pick", "drop"} <= sent_actions

    cross_floor = _post(
        f"{base}/api/deliveries",
        {
            "sender": {"place_id": "win-A01", "person": "王敏"},
            "recipient": {"place_id": "dept-hrss", "person": "赵敏"},
            "documents": [{"barcode": "SH-OM-2", "title": "营业执照申请"}],
        },
    )["delivery"]
    time.sleep(3.0)  # the vehicle is free and online; the fleet must still not give it an elevator ride
    assert _get(f"{base}/api/deliveries/{cross_floor['id']}")["state"] == "requested"
    assert not any(cross_floor["id"] in json.dumps(o) for o in vehicle.orders_received)


def test_malformed_vehicle_messages_are_logged_with_the_sender_and_the_fleet_carries_on(fleet_with_other_make) -> None:
    base, vehicle, tmp_path = fleet_with_other_make
    state_topic = f"{vehicle.prefix}/state"
    garbage = [
        b"\xff\xfe not json",
        b'{"headerId": "one"}',
        b"[1, 2, 3]",
        json.dumps({"headerId": 1, "orderId": 7}).encode(),
    ]
    for payload in garbage:
        vehicle.client.publish(state_topic, payload, qos=1).wait_for_publish(timeout=5.0)
    log_path = tmp_path / "fleet.log"
    wait_for(
        lambda: log_path.read_text(errors="replace").count(state_topic) >= len(garbage),
        20.0,
        f"{len(garbage)} rejections naming {state_topic} in the fleet manager's log",
    )
    robots = {r["id"]: r for r in _get(f"{base}/api/robots")}
    assert robots[vehicle.serial]["online"] is True
    delivery = _post(
        f"{base}/api/deliveries",
        {
            "sender": {"place_id": "win-A01", "person": "王敏"},
            "recipient": {"place_id": "win-C01", "person": "李强"},
            "documents": [{"barcode": "SH-OM-3", "title": "社保转移申请"}],
        },
    )["delivery"]
    wait_for(
        lambda: _get(f"{base}/api/deliveries/{delivery['id']}")["state"] == "delivered",
        30.0,
        "a transfer carried out after the garbage",
    )
