"""The kiosk's API (/api/kiosk/...) over a real FleetService, SQLite store and knowledge base, with the
recording link and in-test vehicle simulator of test_fleet_service: follow-up questions keep their
subject, a helper call reaches the information desk, and a guidance robot leads the way to a window."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from test_fleet_service import Fleet, VehicleSim, fleet, hall, knowledge, publish_with, run  # noqa: F401

from fleet_api.domain.waiting import TicketEvent
from fleet_api.http import routes_kiosk
from fleet_api.service.guidance_desk import HELP_DESK_PLACE_ID
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import plan_route
from maps.site import Site

pytestmark = pytest.mark.integration
SESSION = "visitor-0001"
Call = Callable[[str, str, dict[str, Any] | None], Awaitable[httpx.Response]]


def with_kiosk(fleet: Fleet, scenario: Callable[[Call], Awaitable[None]]) -> None:
    """Run ``scenario(call)`` where ``call(method, path, json)`` goes through the kiosk routes in-process."""
    app = FastAPI()
    app.include_router(routes_kiosk.router)
    app.state.runtime = SimpleNamespace(service=fleet.service)

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kiosk.test", timeout=10.0) as client:

            async def call(method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
                return await client.request(method, path, json=body)

            await scenario(call)

    run(main)


async def speak_all(sim: VehicleSim, fleet: Fleet) -> None:
    """The robot finishes every sentence it is asked to say (runs until cancelled)."""
    done: set[str] = set()
    while True:
        for action in fleet.link.instant_for(sim.serial, ha.SPEAK):
            if action.actionId not in done:
                done.add(action.actionId)
                sim.set_action(action.actionId, v.ActionStatus.FINISHED, f"/tmp/{action.actionId}.wav")
                sim.publish()
        await asyncio.sleep(0.01)


def test_a_follow_up_question_is_answered_about_the_service_asked_before(fleet: Fleet) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance")

    async def scenario(call: Call) -> None:
        speaker = asyncio.create_task(speak_all(g1, fleet))
        try:
            first = await call(
                "POST",
                "/api/kiosk/ask",
                {"text": "营业执照怎么办", "language": "zh-CN", "robot_id": "g1", "session_id": SESSION},
            )
            assert first.status_code == 200, first.text
            first = first.json()
            assert first["item"] == "business-licence" and not first["needs_helper"]
            assert first["spoken"] and first["robot_id"] == "g1"
            details = first["details"]
            assert "公司章程" in details["materials_zh"]
            assert len(details["materials_en"]) == len(details["materials_zh"])
            assert (details["window"], details["floor"], details["fee"], details["online"]) == ("A01-A04", 1, 0, True)
            assert details["processing_days"] == 1

            follow_up = (
                await call(
                    "POST", "/api/kiosk/ask", {"text": "那要带什么材料？", "robot_id": "g1", "session_id": SESSION}
                )
            ).json()
            assert (follow_up["item"], follow_up["asks"]) == ("business-licence", "materials")
            assert "公司章程" in follow_up["answer"]
            spoken = [a.param("text") for a in fleet.link.instant_for("g1", ha.SPEAK)]
            assert spoken == [first["answer"], follow_up["answer"]], "the robot says both answers"

            other = (
                await call("POST", "/api/kiosk/ask", {"text": "那要带什么材料？", "session_id": "visitor-0002"})
            ).json()
            assert other["item"] is None and other["details"] is None  # another visitor: which service?
        finally:
            speaker.cancel()

    with_kiosk(fleet, scenario)


def test_an_abstained_answer_and_the_helper_button_notify_the_information_desk(fleet: Fleet) -> None:
    fleet.robot("g1", "wait-A", kind="guidance", online=False)  # answers still show on screen

    async def scenario(call: Call) -> None:
        unsure = (
            await call("POST", "/api/kiosk/ask", {"text": "我想申请火星签证", "robot_id": "g1", "session_id": SESSION})
        ).json()
        assert unsure["item"] is None and unsure["needs_helper"] and unsure["helper_notified"]
        assert not unsure["spoken"]
        (note,) = fleet.store.notifications_for(HELP_DESK_PLACE_ID)
        assert "帮办请求" in note.text_zh and "g1" in note.text_zh and "火星签证" in note.text_zh
        assert note.text_en.startswith("Helper requested")

        again = await call(
            "POST", "/api/kiosk/helper", {"robot_id": "g1", "question": "我想申请火星签证", "session_id": SESSION}
        )
        assert again.status_code == 200 and again.json()["repeated"]  # the same visitor tapping: one request
        assert len(fleet.store.notifications_for(HELP_DESK_PLACE_ID)) == 1

        other = (
            await call("POST", "/api/kiosk/helper", {"robot_id": "g1", "language": "en", "session_id": "visitor-0002"})
        ).json()
        assert other["notified"] and not other["repeated"]
        assert other["message"] == other["message_en"] and "staff helper" in other["message"]
        assert "工作人员" in other["message_zh"]
        listed = (await call("GET", "/api/kiosk/helper", None)).json()
        assert len(listed) == 2 and "(no question typed)" in listed[0]["text_en"]

        unknown = await call("POST", "/api/kiosk/helper", {"robot_id": "nobody"})
        assert unknown.status_code == 422 and "robot_id" in unknown.json()["detail"]

    with_kiosk(fleet, scenario)


def test_the_helper_call_is_said_aloud_by_an_online_robot(fleet: Fleet) -> None:
    fleet.robot("g1", "wait-A", kind="guidance")

    async def scenario(call: Call) -> None:
        answer = (
            await call("POST", "/api/kiosk/helper", {"robot_id": "g1", "question": "", "session_id": SESSION})
        ).json()
        assert answer["notified"]
        (said,) = fleet.link.instant_for("g1", ha.SPEAK)
        assert said.param("text") == answer["message_zh"] and said.param("language") == "zh-CN"
        assert "附近" in fleet.store.notifications_for(HELP_DESK_PLACE_ID)[0].text_zh  # where staff find the visitor

    with_kiosk(fleet, scenario)


def test_lead_sends_the_robot_to_the_nearest_window_of_the_service_and_it_speaks_on_arrival(
    fleet: Fleet, hall: Site
) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance")
    windows = [f"win-A0{n}" for n in range(1, 5)]  # business licence: A01-A04
    start = hall.place("wait-A").waypoint_id
    nearest = min(windows, key=lambda w: plan_route(hall, start, hall.place(w).waypoint_id).distance_m)

    async def scenario(call: Call) -> None:
        started = await call("POST", "/api/kiosk/lead", {"robot_id": "g1", "item_id": "business-licence"})
        assert started.status_code == 200, started.text
        assert started.json()["state"] == "leading" and started.json()["place_id"] == nearest
        (order,) = fleet.link.orders_for("g1")
        last = order.nodes[-1]
        assert last.nodeId == hall.place(nearest).waypoint_id
        (speak,) = last.actions
        assert speak.actionType == ha.SPEAK and speak.param("language") == "zh-CN"
        assert hall.place(nearest).name_zh in speak.param("text") and "营业执照" in speak.param("text")

        busy = await call("POST", "/api/kiosk/lead", {"robot_id": "g1", "place_id": "win-B01"})
        assert busy.status_code == 409 and busy.json()["reason"] == "busy"
        assert "正在执行其他任务" in busy.json()["message_zh"] and "busy" in busy.json()["message_en"]

        assert g1.drive() == hall.place(nearest).waypoint_id
        status = (await call("GET", "/api/kiosk/lead/g1", None)).json()
        assert status["state"] == "arrived" and status["arrived_at"]
        g1.finish(ha.SPEAK)  # said "here we are": the trip is over and the robot free again
        assert "g1" not in fleet.service.runs
        again = await call("POST", "/api/kiosk/lead", {"robot_id": "g1", "place_id": "wait-A", "language": "en"})
        assert again.status_code == 200 and again.json()["state"] == "leading"
        assert "Here we are" in fleet.link.orders_for("g1")[-1].nodes[-1].actions[0].param("text")

    with_kiosk(fleet, scenario)


@pytest.mark.parametrize("trouble", ["offline", "estop", "visit"])
def test_lead_is_refused_plainly_when_the_robot_cannot_go(fleet: Fleet, trouble: str) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance", online=trouble != "offline")
    if trouble == "estop":
        g1.errors = [v.Error(errorType="emergencyStop", errorLevel="FATAL", errorDescription="e-stop")]
        publish_with(g1, safetyState=v.SafetyState(eStop="MANUAL"))
    if trouble == "visit":  # on its way to a visitor who waited too long
        fleet.service.queue_event(
            "B023", TicketEvent.ISSUED, datetime.now(UTC) - timedelta(minutes=20), service="x", zone_id="wait-B"
        )
        assert fleet.link.orders_for("g1")
    expected = {"offline": ("offline", "离线"), "estop": ("stopped", "急停"), "visit": ("busy", "其他任务")}[trouble]

    async def scenario(call: Call) -> None:
        refused = await call("POST", "/api/kiosk/lead", {"robot_id": "g1", "item_id": "id-card"})
        assert refused.status_code == 409
        body = refused.json()
        assert body["reason"] == expected[0] and expected[1] in body["message_zh"] and body["message_en"]

    with_kiosk(fleet, scenario)
    assert all(o.orderId.startswith("visit-") for o in fleet.link.orders_for("g1"))  # no lead order was sent


def test_lead_input_is_checked_and_named(fleet: Fleet) -> None:
    fleet.robot("g1", "wait-A", kind="guidance")
    fleet.robot("dr1", "dock-1")

    async def scenario(call: Call) -> None:
        both = await call("POST", "/api/kiosk/lead", {"robot_id": "g1", "item_id": "id-card", "place_id": "win-A01"})
        assert both.status_code == 422 and "item_id, place_id" in both.text
        unknown_item = await call("POST", "/api/kiosk/lead", {"robot_id": "g1", "item_id": "moon-visa"})
        assert unknown_item.status_code == 422 and "item_id" in unknown_item.json()["detail"]
        unknown_place = await call("POST", "/api/kiosk/lead", {"robot_id": "g1", "place_id": "win-Z99"})
        assert unknown_place.status_code == 422 and "place_id" in unknown_place.json()["detail"]
        delivery_robot = await call("POST", "/api/kiosk/lead", {"robot_id": "dr1", "place_id": "win-A01"})
        assert delivery_robot.status_code == 422 and "robot_id" in delivery_robot.json()["detail"]
        assert (await call("GET", "/api/kiosk/lead/g1", None)).status_code == 404
        bad_session = await call("POST", "/api/kiosk/ask", {"text": "hi", "session_id": "x y"})
        assert bad_session.status_code == 422 and "session_id" in bad_session.text

    with_kiosk(fleet, scenario)
    assert fleet.link.orders_for("g1") == [] and fleet.link.orders_for("dr1") == []
