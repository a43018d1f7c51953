"""Visitors who wait, through FleetService: the nearest free guidance robot drives to the waiting
zone, greets the ticket aloud once, and is called off when the ticket is called first.

Uses the recording link and the in-test vehicle simulator of test_fleet_service."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from test_fleet_service import Fleet, VehicleSim, fleet, hall, publish_with  # noqa: F401  (fixtures)

from fleet_api.domain import waiting as wt
from fleet_api.service import FleetError
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import plan_route
from maps.site import Site

pytestmark = pytest.mark.integration
CST = timezone(timedelta(hours=8))
E = wt.TicketEvent


@pytest.fixture
def knowledge() -> None:
    """Waiting visitors need no knowledge base (``fleet`` asks for one)."""
    return None


def ago(minutes: float) -> datetime:
    return datetime.now(CST) - timedelta(minutes=minutes)


def issue(fleet: Fleet, number: str, zone: str, waited_min: float, language: str = "zh-CN") -> wt.Applied:
    return fleet.service.queue_event(
        number, E.ISSUED, ago(waited_min), service="business-licence", zone_id=zone, language=language
    )


def last_order_end(fleet: Fleet, serial: str) -> str | None:
    orders = fleet.link.orders_for(serial)
    return orders[-1].nodes[-1].nodeId if orders else None


def route_m(hall: Site, from_place: str, to_place: str) -> float:
    return plan_route(hall, hall.place(from_place).waypoint_id, hall.place(to_place).waypoint_id).distance_m


def finish_speaking(sim: VehicleSim, fleet: Fleet, wav: str = "/data/speech-1.wav") -> v.Action:
    (speak,) = fleet.link.instant_for(sim.serial, ha.SPEAK)
    sim.set_action(speak.actionId, v.ActionStatus.FINISHED, wav)
    sim.publish()
    return speak


def test_a_ticket_over_the_limit_gets_one_visit_and_a_spoken_greeting(fleet: Fleet, hall: Site) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance")
    events = fleet.service.subscribe()
    assert issue(fleet, "B007", "wait-B", waited_min=10).outcome == wt.Outcome.CREATED
    assert fleet.link.orders_for("g1") == []  # under the limit: nobody goes

    issue(fleet, "B023", "wait-B", waited_min=16)
    assert last_order_end(fleet, "g1") == hall.place("wait-B").waypoint_id
    assert fleet.link.instant_for("g1", ha.SPEAK) == []  # nothing said on the way
    assert g1.drive() == hall.place("wait-B").waypoint_id

    (speak,) = fleet.link.instant_for("g1", ha.SPEAK)
    assert speak.param("text").startswith("B023号的市民您好，您已经等候了16分钟，请问需要帮助吗？")
    assert speak.param("language") == "zh-CN"
    finish_speaking(g1, fleet)
    (visit,) = fleet.service.queue.visits()
    assert (visit.ticket, visit.robot_id, visit.state, visit.waited_min) == ("B023", "g1", wt.VisitState.GREETED, 16)
    assert visit.wav_path == "/data/speech-1.wav"
    seen = []
    while not events.empty():
        event = events.get_nowait()
        if event["kind"] == "visit":
            seen.append(event["data"]["state"])
    assert seen[0] == "en_route" and seen[-1] == "greeted"

    # never twice: time passes, the ticket keeps waiting, the robot stays put
    orders_before = len(fleet.link.orders_for("g1"))
    fleet.service.check_waits(datetime.now(CST) + timedelta(seconds=30))
    assert [t.number for t in fleet.service.queue.due(datetime.now(CST) + timedelta(minutes=10), 15.0)] == ["B007"]
    assert all(
        o.nodes[-1].nodeId != hall.place("wait-B").waypoint_id for o in fleet.link.orders_for("g1")[orders_before:]
    )
    assert len(fleet.link.instant_for("g1", ha.SPEAK)) == 1


def test_after_its_stay_the_robot_goes_home(fleet: Fleet, hall: Site) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance")
    issue(fleet, "C002", "wait-C", waited_min=20)
    g1.drive()
    finish_speaking(g1, fleet)
    fleet.service.check_waits(datetime.now(CST) + timedelta(seconds=10))
    assert last_order_end(fleet, "g1") == hall.place("wait-C").waypoint_id  # still there, offering help
    fleet.service.check_waits(datetime.now(CST) + timedelta(minutes=fleet.service.wait_rule.stay_min, seconds=5))
    assert last_order_end(fleet, "g1") == hall.place("wait-A").waypoint_id


def test_english_ticket_is_greeted_in_english(fleet: Fleet) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance")
    issue(fleet, "A031", "wait-A", waited_min=18, language="en")  # already there: no drive
    assert fleet.link.orders_for("g1") == []
    (speak,) = fleet.link.instant_for("g1", ha.SPEAK)
    assert speak.param("language") == "en" and "ticket A031" in speak.param("text")
    assert "18 minutes" in speak.param("text")
    assert g1  # the robot exists and stayed where it was


def test_called_before_arrival_stops_the_robot_and_sends_it_home(fleet: Fleet, hall: Site) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance")
    issue(fleet, "D004", "wait-D", waited_min=16)
    assert last_order_end(fleet, "g1") == hall.place("wait-D").waypoint_id
    g1.step()  # one node on its way
    applied = fleet.service.queue_event("D004", E.CALLED, datetime.now(CST))
    assert applied.outcome == wt.Outcome.UPDATED and applied.cancel is not None
    assert len(fleet.link.instant_for("g1", "cancelOrder")) == 1
    assert last_order_end(fleet, "g1") == hall.place("wait-A").waypoint_id
    g1.drive()
    assert fleet.link.instant_for("g1", ha.SPEAK) == []  # never greeted a ticket that was called
    (visit,) = fleet.service.queue.visits()
    assert visit.state == wt.VisitState.CANCELLED


def test_called_before_arrival_sends_the_robot_to_the_next_ticket_over_the_limit(fleet: Fleet, hall: Site) -> None:
    fleet.robot("g1", "wait-A", kind="guidance")
    issue(fleet, "D004", "wait-D", waited_min=17)
    issue(fleet, "B010", "wait-B", waited_min=16)  # g1 is busy: B010 has to wait for it
    assert len(fleet.link.orders_for("g1")) == 1
    fleet.service.queue_event("D004", E.FINISHED, datetime.now(CST))
    assert last_order_end(fleet, "g1") == hall.place("wait-B").waypoint_id
    assert [(v.ticket, v.state) for v in fleet.service.queue.visits()] == [
        ("B010", wt.VisitState.EN_ROUTE),
        ("D004", wt.VisitState.CANCELLED),
    ]


def test_the_nearest_free_guidance_robot_goes(fleet: Fleet, hall: Site) -> None:
    near_place, far_place = sorted(["wait-A", "wait-D"], key=lambda p: route_m(hall, p, "wait-B"))
    assert route_m(hall, near_place, "wait-B") < route_m(hall, far_place, "wait-B")
    fleet.robot("far", far_place, kind="guidance")
    fleet.robot("near", near_place, kind="guidance")
    fleet.robot("dr1", "wait-B")  # a delivery robot right there is never sent
    issue(fleet, "B023", "wait-B", waited_min=16)
    assert last_order_end(fleet, "near") == hall.place("wait-B").waypoint_id
    assert fleet.link.orders_for("far") == [] and fleet.link.orders_for("dr1") == []


@pytest.mark.parametrize("trouble", ["offline", "fatal", "busy"])
def test_a_robot_that_is_not_free_is_skipped(fleet: Fleet, hall: Site, trouble: str) -> None:
    near = fleet.robot("near", "wait-A", kind="guidance", online=trouble != "offline")
    fleet.robot("far", "dock-3", kind="guidance")
    assert route_m(hall, "wait-A", "wait-C") < route_m(hall, "dock-3", "wait-C")
    if trouble == "fatal":
        near.errors = [v.Error(errorType="emergencyStop", errorLevel="FATAL", errorDescription="e-stop")]
        near.publish()
    if trouble == "busy":
        issue(fleet, "B001", "wait-B", waited_min=30)  # near takes the older ticket first
        assert last_order_end(fleet, "near") == hall.place("wait-B").waypoint_id
    issue(fleet, "C009", "wait-C", waited_min=16)
    assert last_order_end(fleet, "far") == hall.place("wait-C").waypoint_id
    assert [v.robot_id for v in fleet.service.queue.visits() if v.ticket == "C009"] == ["far"]


def test_no_free_robot_then_the_visit_waits_for_one(fleet: Fleet, hall: Site) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance", online=False)
    issue(fleet, "B023", "wait-B", waited_min=16)
    assert fleet.service.queue.visits() == []
    fleet.connection("g1", v.ConnectionState.ONLINE)
    g1.publish()
    fleet.service.check_waits()
    assert last_order_end(fleet, "g1") == hall.place("wait-B").waypoint_id


def test_a_rejected_order_fails_the_visit_and_another_robot_tries(fleet: Fleet, hall: Site) -> None:
    g1 = fleet.robot("g1", "wait-A", kind="guidance")
    fleet.robot("g2", "dock-3", kind="guidance")
    issue(fleet, "B023", "wait-B", waited_min=16)
    order = fleet.link.orders_for("g1")[0]
    publish_with(
        g1,
        errors=[
            v.Error(
                errorType="validationError",
                errorLevel="WARNING",
                errorDescription="no",
                errorReferences=[v.ErrorReference(referenceKey="orderId", referenceValue=order.orderId)],
            )
        ],
    )
    (visit,) = [x for x in fleet.service.queue.visits() if x.robot_id == "g1"]
    assert visit.state == wt.VisitState.FAILED
    fleet.service.check_waits()
    assert last_order_end(fleet, "g2") == hall.place("wait-B").waypoint_id


def test_unknown_or_wrong_zone_is_refused(fleet: Fleet) -> None:
    with pytest.raises(FleetError, match="wait-Z") as unknown:
        issue(fleet, "A001", "wait-Z", waited_min=1)
    assert unknown.value.status == 400
    with pytest.raises(FleetError, match="win-A01.*not a waiting zone"):
        issue(fleet, "A001", "win-A01", waited_min=1)
    assert fleet.service.queue.waiting() == []
