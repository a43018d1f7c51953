"""The real fleet manager killed in the middle of a delivery: a new one on the same data dir finishes it.

``hallfleet fleet serve`` on the local Mosquitto with the other make's vehicle (a plain VDA 5050
vehicle, tests/integration/othermake_vehicle.py). The first process gets SIGKILL once the files are
picked: no shutdown code runs, so only what it had stored survives.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from fleet_process import fleet_manager_process, get_json, post_json, start_other_make, write_other_make_fleet
from robot_process import broker_reachable, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not broker_reachable(), reason="no MQTT broker (Mosquitto) on 127.0.0.1:1883"),
]

MQTT_URL = "mqtt://127.0.0.1:1883"
STEP_S, ACTION_S = 0.4, 1.0  # slower than the vehicle's defaults: time to see "loaded" before it is delivered


def test_delivery_survives_a_killed_fleet_manager(tmp_path: Path) -> None:
    serial = f"om{secrets.token_hex(3)}"
    fleet_file = write_other_make_fleet(tmp_path / "fleet.yaml", serial)
    vehicle = None
    try:
        with fleet_manager_process(tmp_path, fleet_file, MQTT_URL, log_name="fleet-1.log") as (base, proc):
            vehicle = start_other_make(serial, step_s=STEP_S, action_s=ACTION_S)
            wait_for(
                lambda: any(r["id"] == serial and r["online"] for r in get_json(f"{base}/api/robots")),
                20.0,
                f"{serial} online in the fleet",
            )
            delivery_id = post_json(
                f"{base}/api/deliveries",
                {
                    "sender": {"place_id": "win-A01", "person": "王敏"},
                    "recipient": {"place_id": "win-C01", "person": "李强"},
                    "documents": [{"barcode": "SH-RS-1", "title": "社保转移申请"}],
                },
            )["delivery"]["id"]
            wait_for(
                lambda: get_json(f"{base}/api/deliveries/{delivery_id}")["state"] in ("loaded", "in_transit"),
                30.0,
                "the tote picked up",
            )
            proc.kill()  # SIGKILL: nothing is flushed or closed on the way out
            proc.wait(timeout=10.0)

        with fleet_manager_process(tmp_path, fleet_file, MQTT_URL, log_name="fleet-2.log") as (base, _proc):
            done = wait_for(
                lambda: (d := get_json(f"{base}/api/deliveries/{delivery_id}"))["state"] == "delivered" and d,
                60.0,
                "the delivery finished by the second fleet manager",
            )
            assert [e["kind"] for e in done["custody"]] == [
                "created",
                "assigned",
                "loaded",
                "departed",
                "arrived",
                "delivered",
            ]
            assert [e["actor"] for e in done["custody"] if e["kind"] in ("loaded", "delivered")] == [serial, serial]
            assert get_json(f"{base}/api/custody/verify") == {"intact": True, "problems": []}
        trips = {o["orderId"] for o in vehicle.orders_received if o["orderId"].startswith(delivery_id)}
        assert len(trips) == 1, f"the delivery's trip was resumed, not started again: {trips}"
        assert "resumed 1 delivery trip(s)" in (tmp_path / "fleet-2.log").read_text(errors="replace")
    finally:
        if vehicle is not None:
            vehicle.close()
