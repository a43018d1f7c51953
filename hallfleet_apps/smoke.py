"""The scripted smoke run: one cross-floor delivery and one spoken answer, through the public API only.

It does what the people would do: a window clerk sends files to a 3rd-floor department, types the
PIN at the robot and loads them; the department reads its one-time PIN from its notifications and
takes the files out; a visitor asks a question at the kiosk.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

SENDER = {"place_id": "win-A01", "person": "王敏"}
QUESTION = "办营业执照需要带什么材料？"


class SmokeFailure(RuntimeError):
    pass


def _wait_state(client: httpx.Client, delivery_id: str, wanted: set[str], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    delivery: dict[str, Any] = {}
    while time.monotonic() < deadline:
        delivery = client.get(f"/api/deliveries/{delivery_id}").json()
        if delivery["state"] in wanted:
            return delivery
        if delivery["state"] in {"failed", "cancelled", "returned_to_sender"}:
            break
        time.sleep(0.3)
    raise SmokeFailure(
        f"delivery {delivery_id} is {delivery.get('state')!r}, expected {sorted(wanted)} "
        f"within {timeout_s:.0f} s; last history: {delivery.get('history', [])[-1:]}"
    )


def _recipient_pin(client: httpx.Client, place_id: str, delivery_id: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for note in client.get("/api/notifications", params={"place_id": place_id}).json():
            match = re.search(r"PIN:\s*(\d{6})", note["text_en"])
            if note["delivery_id"] == delivery_id and match and "PIN" in note["text_en"]:
                return match.group(1)
        time.sleep(0.3)
    raise SmokeFailure(f"no one-time PIN reached {place_id} within {timeout_s:.0f} s")


def _third_floor_department(client: httpx.Client) -> dict[str, Any]:
    departments = [p for p in client.get("/api/places", params={"kind": "department"}).json() if p["level"] == 3]
    if not departments:
        raise SmokeFailure("the site has no department on the 3rd floor")
    return departments[0]


def deliver_once(client: httpx.Client, timeout_s: float = 300.0) -> dict[str, Any]:
    department = _third_floor_department(client)
    recipient = {"place_id": department["id"], "person": "李科长"}
    created = client.post(
        "/api/deliveries",
        json={
            "sender": SENDER,
            "recipient": recipient,
            "priority": "normal",
            "note": "smoke run",
            "documents": [{"barcode": "SH-SMOKE-0001", "title": "营业执照设立登记申请书"}],
        },
    )
    if created.status_code != 201:
        raise SmokeFailure(f"creating the delivery failed: {created.status_code} {created.text}")
    delivery_id, sender_pin = created.json()["delivery"]["id"], created.json()["sender_pin"]
    at_pickup = _wait_state(client, delivery_id, {"awaiting_load"}, timeout_s)
    robot, compartment = at_pickup["robot_id"], at_pickup["compartment_id"]
    base = f"/api/robots/{robot}/compartments/{compartment}"
    for step, body in (
        ("unlock", {"pin": sender_pin, "person": SENDER["person"]}),
        ("close", {"person": SENDER["person"]}),
    ):
        response = client.post(f"{base}/{step}", json=body)
        if response.status_code != 200:
            raise SmokeFailure(f"sender {step} at {robot} failed: {response.status_code} {response.text}")
    pin = _recipient_pin(client, recipient["place_id"], delivery_id, 30.0)
    _wait_state(client, delivery_id, {"awaiting_recipient"}, timeout_s)
    for step, body in (
        ("unlock", {"pin": pin, "person": recipient["person"]}),
        ("close", {"person": recipient["person"]}),
    ):
        response = client.post(f"{base}/{step}", json=body)
        if response.status_code != 200:
            raise SmokeFailure(f"recipient {step} at {robot} failed: {response.status_code} {response.text}")
    done = _wait_state(client, delivery_id, {"delivered"}, 30.0)
    return done


def run_smoke(base_url: str) -> dict[str, Any]:
    """Run the scenario; return the JSON summary (``delivered`` and ``spoken`` say whether it worked)."""
    summary: dict[str, Any] = {"delivered": False, "spoken": False}
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        try:
            delivery = deliver_once(client)
            summary.update(
                delivered=delivery["state"] == "delivered",
                delivery_id=delivery["id"],
                robot_id=delivery["robot_id"],
                states=[h["state"] for h in delivery["history"]],
                custody_events=[c["kind"] for c in delivery["custody"]],
                custody_intact=client.get("/api/custody/verify").json()["intact"],
            )
        except SmokeFailure as exc:
            summary["error"] = str(exc)
        answer = client.post("/api/guidance/ask", json={"text": QUESTION, "language": "zh-CN"})
        if answer.status_code == 200:
            body = answer.json()
            summary.update(
                spoken=bool(body["spoken"]),
                answer=body["answer"][:80],
                item_id=body["item_id"],
                wav_path=body["wav_path"],
            )
        else:
            summary["ask_error"] = f"{answer.status_code} {answer.text}"
        # the demo's queue-ticket simulator runs alongside: which robot went to which ticket that waited too long
        visits = client.get("/api/queue/visits")
        if visits.status_code == 200:
            summary["queue_visits"] = [
                {k: x[k] for k in ("ticket", "robot_id", "state", "waited_min")} for x in visits.json()
            ]
    return summary
