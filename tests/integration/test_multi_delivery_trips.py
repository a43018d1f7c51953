"""Several deliveries on one robot trip: each in its own compartment, with its own PINs, states and
custody chain; urgent files never wait for someone else's; what does not fit waits for another robot.

FleetService with the recording link and the in-test vehicle simulator of test_fleet_service (two
HARD actions at one node run one after the other, as on our robot); compartments are the robot's
real PIN logic (``Locks``). Deliveries are requested while no robot is free, then a robot comes
free: that is when waiting deliveries can share a trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_fleet_restart import Hall, db_url  # noqa: F401
from test_fleet_service import Fleet, S, VehicleSim, fleet, hall, knowledge, run, states_seen  # noqa: F401
from test_return_and_absence import Locks, kinds, recipient_pin, type_pin

from fleet_api.domain.eta import HANDOVER_S
from fleet_api.domain.pins import verify_pin
from fleet_api.http.routes_api import get_service
from fleet_api.http.routes_clerk import router as clerk_router
from fleet_api.service import FleetError
from hallfleet.knowledge import KnowledgeBase
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import plan_route
from maps.site import Site

pytestmark = pytest.mark.integration

DELIVERED = [
    "created",
    "assigned",
    "loaded",
    "departed",
    "elevator_boarded",
    "elevator_exited",
    "arrived",
    "unlocked_by_recipient",
    "delivered",
]


def actions_of(order: v.Order) -> list[tuple[str, str, Any, Any]]:
    """(node, action type, delivery, compartment) of every node action in the order, in driving order."""
    return [
        (n.nodeId, a.actionType, a.param("deliveryId"), a.param("compartmentId"))
        for n in order.nodes
        for a in n.actions
    ]


def wp(hall: Site, place: str) -> str:
    return hall.place(place).waypoint_id


def takes_new_order(sim: VehicleSim) -> None:
    """The robot takes the re-planned order and reports its state, as a robot does on a new order."""
    sim.take_orders()
    sim.publish()


def ride_to_level_3(fleet: Fleet, sim: VehicleSim, hall: Site) -> None:
    """From the window to the lobby, into the car at level 1, out at level 3."""
    assert sim.drive() == wp(hall, "lobby-E2-L1")
    fleet.elevator(1, "open", sim.serial)
    assert sim.drive() == "car-E2-L1"
    fleet.elevator(3, "open", sim.serial)


async def load_both(
    fleet: Fleet, sim: VehicleSim, locks: Locks, first: tuple[str, str], second: tuple[str, str]
) -> None:
    """At the window: compartment 1 for the first delivery, then compartment 2 for the second."""
    for compartment, (delivery_id, sender_pin) in enumerate((first, second), start=1):
        assert fleet.state_of(delivery_id) == S.AWAITING_LOAD
        assert await type_pin(fleet, locks, sender_pin, "Clerk Wang", compartment) == f"compartment {compartment} open"
        locks.bank.close(compartment, occupied=True)
        sim.finish(ha.LOAD_DOCUMENTS)
        assert fleet.state_of(delivery_id) == S.LOADED


async def take_out(
    fleet: Fleet, locks: Locks, sim: VehicleSim, delivery_id: str, place: str, person: str, compartment: int
) -> None:
    pin = recipient_pin(fleet, place, delivery_id)
    assert await type_pin(fleet, locks, pin, person, compartment) == f"compartment {compartment} open"
    locks.bank.close(compartment, occupied=False)
    sim.finish(ha.UNLOAD_DOCUMENTS)


# ----------------------------------------------------------------------------- one window, two departments
def test_two_files_from_one_window_to_two_departments_on_floor_3_share_one_trip(fleet: Fleet, hall: Site) -> None:
    async def scenario() -> None:
        hr_id, hr_pin = fleet.deliver(recipient_place="dept-hrss", barcode="DOC-HR")
        pl_id, pl_pin = fleet.deliver(recipient_place="dept-planning", barcode="DOC-PL")
        assert fleet.state_of(hr_id) == fleet.state_of(pl_id) == S.REQUESTED  # no robot yet
        dr1 = fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)

        orders = fleet.link.orders_for("dr1")
        assert len(orders) == 1, "one trip for both"
        window, hr, planning = wp(hall, "win-A01"), wp(hall, "dept-hrss"), wp(hall, "dept-planning")
        hr_d, pl_d = fleet.store.get_delivery(hr_id), fleet.store.get_delivery(pl_id)
        assert (hr_d.robot_id, hr_d.compartment_id, pl_d.robot_id, pl_d.compartment_id) == ("dr1", 1, "dr1", 2)
        assert fleet.service.robots["dr1"].delivery_ids == [hr_id, pl_id]
        assert hr_d.recipient_pin_hash != pl_d.recipient_pin_hash
        assert [e.detail for e in fleet.store.custody_for(hr_id) if e.kind == "assigned"] == [
            "robot dr1 compartment 1; with 1 other delivery"
        ]

        # the robot waits at the window: first compartment 1, then compartment 2
        assert dr1.drive() == window
        assert (fleet.state_of(hr_id), fleet.state_of(pl_id)) == (S.AWAITING_LOAD, S.TO_PICKUP)
        with pytest.raises(FleetError, match="not expecting a hand-over"):
            await type_pin(fleet, locks, pl_pin, "Clerk Wang", 2)  # compartment 2 is not armed yet
        await load_both(fleet, dr1, locks, (hr_id, hr_pin), (pl_id, pl_pin))
        assert {n.delivery_id for n in fleet.store.notifications_for("dept-hrss")} == {hr_id}
        assert {n.delivery_id for n in fleet.store.notifications_for("dept-planning")} == {pl_id}

        ride_to_level_3(fleet, dr1, hall)
        assert dr1.drive() == hr
        assert (fleet.state_of(hr_id), fleet.state_of(pl_id)) == (S.AWAITING_RECIPIENT, S.IN_TRANSIT)
        # planning's PIN does not open anything at HR: its compartment is not armed here
        with pytest.raises(FleetError) as refused:
            await type_pin(fleet, locks, recipient_pin(fleet, "dept-planning", pl_id), "Officer Zhou", 2)
        assert refused.value.status in (403, 409)
        await take_out(fleet, locks, dr1, hr_id, "dept-hrss", "Officer Li", 1)
        assert fleet.state_of(hr_id) == S.DELIVERED and fleet.state_of(pl_id) == S.IN_TRANSIT

        assert dr1.drive() == planning
        assert fleet.state_of(pl_id) == S.AWAITING_RECIPIENT
        await take_out(fleet, locks, dr1, pl_id, "dept-planning", "Officer Zhou", 2)
        assert fleet.state_of(pl_id) == S.DELIVERED

        for delivery_id, compartment, taker, place in (
            (hr_id, 1, "Officer Li", "dept-hrss"),
            (pl_id, 2, "Officer Zhou", "dept-planning"),
        ):
            custody = fleet.store.custody_for(delivery_id)
            assert [e.kind for e in custody if e.kind != "unlock_refused"] == DELIVERED
            by_kind = {e.kind: e for e in custody}
            assert (by_kind["loaded"].actor, by_kind["loaded"].compartment_id, by_kind["loaded"].place_id) == (
                "Clerk Wang",
                compartment,
                "win-A01",
            )
            assert (by_kind["delivered"].actor, by_kind["delivered"].place_id) == (taker, place)
            assert states_seen(fleet.store, delivery_id) == [
                "requested",
                "assigned",
                "to_pickup",
                "awaiting_load",
                "loaded",
                "in_transit",
                "awaiting_recipient",
                "delivered",
            ]
        assert fleet.store.verify_custody() == []
        home = fleet.link.orders_for("dr1")[-1]
        assert home.nodes[0].nodeId == planning and home.nodes[-1].nodeId == wp(hall, "dock-1")
        assert fleet.service.robots["dr1"].delivery_ids == []

    run(scenario)


def test_the_order_loads_both_at_one_window_node_and_hands_over_in_turn(fleet: Fleet, hall: Site) -> None:
    hr_id, _ = fleet.deliver(recipient_place="dept-hrss")
    pl_id, _ = fleet.deliver(recipient_place="dept-planning")
    fleet.robot("dr1", "dock-1")
    trip = fleet.service.runs["dr1"].trip
    stops = [
        (n.nodeId, a.actionType, a.param("deliveryId"), a.param("compartmentId"), a.blockingType)
        for n in trip.nodes
        for a in n.actions
    ]
    window, hr, planning = wp(hall, "win-A01"), wp(hall, "dept-hrss"), wp(hall, "dept-planning")
    assert stops == [
        (window, ha.LOAD_DOCUMENTS, hr_id, 1, "HARD"),
        (window, ha.LOAD_DOCUMENTS, pl_id, 2, "HARD"),
        (hr, ha.UNLOAD_DOCUMENTS, hr_id, 1, "HARD"),
        (planning, ha.UNLOAD_DOCUMENTS, pl_id, 2, "HARD"),
    ]
    pins = {
        a.param("deliveryId"): a.param("pinHash")
        for n in trip.nodes
        for a in n.actions
        if a.actionType == ha.UNLOAD_DOCUMENTS
    }
    assert pins == {d: fleet.store.get_delivery(d).recipient_pin_hash for d in (hr_id, pl_id)}


# ----------------------------------------------------------------------------- what rides along, what waits
def test_an_urgent_delivery_rides_alone_and_the_normal_ones_share_the_next_robot(fleet: Fleet) -> None:
    normal_1, _ = fleet.deliver(recipient_place="dept-hrss", barcode="DOC-N1")
    urgent, _ = fleet.deliver(recipient_place="dept-planning", priority="urgent", barcode="DOC-U")
    normal_2, _ = fleet.deliver(recipient_place="dept-hrss", barcode="DOC-N2")
    fleet.robot("dr1", "dock-1")
    assert fleet.store.get_delivery(urgent).robot_id == "dr1"
    assert [a[1:3] for a in actions_of(fleet.link.orders_for("dr1")[0])] == [
        (ha.LOAD_DOCUMENTS, urgent),
        (ha.UNLOAD_DOCUMENTS, urgent),
    ], "no stop for anyone else's files"
    assert fleet.state_of(normal_1) == fleet.state_of(normal_2) == S.REQUESTED
    fleet.robot("dr2", "dock-2")
    assert {fleet.store.get_delivery(d).robot_id for d in (normal_1, normal_2)} == {"dr2"}
    assert fleet.service.robots["dr2"].delivery_ids == [normal_1, normal_2]


def test_a_delivery_that_does_not_fit_waits_for_another_robot(fleet: Fleet) -> None:
    """Ecology is at the far end of floor 3: with HR and planning it would make the first files too late."""
    hr_id, _ = fleet.deliver(recipient_place="dept-hrss")
    far_id, _ = fleet.deliver(recipient_place="dept-ecology")
    pl_id, _ = fleet.deliver(recipient_place="dept-planning")
    fleet.robot("dr1", "dock-1", factsheet=ha.build_factsheet("HallFleet", "dr1", "delivery", compartments=4))
    assert fleet.service.robots["dr1"].delivery_ids == [hr_id, pl_id]
    assert fleet.state_of(far_id) == S.REQUESTED
    fleet.robot("dr2", "dock-2")
    assert fleet.store.get_delivery(far_id).robot_id == "dr2" and fleet.state_of(far_id) == S.TO_PICKUP


def test_no_more_deliveries_than_the_robot_has_compartments(fleet: Fleet) -> None:
    ids = [fleet.deliver(recipient_place="dept-hrss", barcode=f"DOC-{i}")[0] for i in range(3)]
    fleet.robot("dr1", "dock-1")  # two compartments
    assert fleet.service.robots["dr1"].delivery_ids == ids[:2]
    assert [fleet.store.get_delivery(d).compartment_id for d in ids[:2]] == [1, 2]
    assert fleet.state_of(ids[2]) == S.REQUESTED


# ----------------------------------------------------------------------------- cancel
def test_cancel_of_one_before_its_load_drops_its_stops_and_the_other_goes_on(fleet: Fleet, hall: Site) -> None:
    async def scenario() -> None:
        hr_id, hr_pin = fleet.deliver(recipient_place="dept-hrss")
        pl_id, _ = fleet.deliver(recipient_place="dept-planning")
        dr1 = fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)
        window = wp(hall, "win-A01")
        assert dr1.drive() == window

        fleet.service.cancel_delivery(pl_id, "Clerk Wang")
        assert fleet.state_of(pl_id) == S.CANCELLED and kinds(fleet, pl_id)[-1] == "cancelled"
        assert len(fleet.link.instant_for("dr1", "cancelOrder")) == 1
        again = fleet.link.orders_for("dr1")[-1]
        assert again.nodes[0].nodeId == window
        assert [a[1:] for a in actions_of(again)] == [(ha.LOAD_DOCUMENTS, hr_id, 1), (ha.UNLOAD_DOCUMENTS, hr_id, 1)]
        assert fleet.service.robots["dr1"].delivery_ids == [hr_id]
        assert fleet.state_of(hr_id) == S.AWAITING_LOAD, "the clerk still loads the other files here"

        takes_new_order(dr1)
        assert fleet.state_of(hr_id) == S.AWAITING_LOAD
        assert await type_pin(fleet, locks, hr_pin, "Clerk Wang", 1) == "compartment 1 open"
        locks.bank.close(1, occupied=True)
        dr1.finish(ha.LOAD_DOCUMENTS)
        ride_to_level_3(fleet, dr1, hall)
        assert dr1.drive() == wp(hall, "dept-hrss")
        await take_out(fleet, locks, dr1, hr_id, "dept-hrss", "Officer Li", 1)
        assert fleet.state_of(hr_id) == S.DELIVERED
        assert [k for k in kinds(fleet, hr_id)] == DELIVERED
        assert fleet.link.orders_for("dr1")[-1].nodes[-1].nodeId == wp(hall, "dock-1"), "not to planning: home"
        assert fleet.store.verify_custody() == []

    run(scenario)


def test_cancel_of_one_after_load_brings_it_back_after_the_other_is_delivered(fleet: Fleet, hall: Site) -> None:
    async def scenario() -> None:
        hr_id, hr_pin = fleet.deliver(recipient_place="dept-hrss")
        pl_id, pl_pin = fleet.deliver(recipient_place="dept-planning")
        dr1 = fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)
        dr1.drive()
        await load_both(fleet, dr1, locks, (hr_id, hr_pin), (pl_id, pl_pin))
        assert dr1.drive() == wp(hall, "lobby-E2-L1")

        fleet.service.cancel_delivery(hr_id, "Clerk Wang")
        assert fleet.state_of(hr_id) == S.RETURNING and fleet.state_of(pl_id) == S.IN_TRANSIT
        again = fleet.link.orders_for("dr1")[-1]
        assert [a[1:] for a in actions_of(again)] == [(ha.UNLOAD_DOCUMENTS, pl_id, 2), (ha.UNLOAD_DOCUMENTS, hr_id, 1)]
        assert again.nodes[-1].nodeId == wp(hall, "win-A01")
        back = again.nodes[-1].actions[-1]
        assert back.param("pinHash") == fleet.store.get_delivery(hr_id).sender_pin_hash
        with pytest.raises(FleetError, match="opens only there"):
            await type_pin(fleet, locks, hr_pin, "Clerk Wang", 1)
        takes_new_order(dr1)

        ride_to_level_3(fleet, dr1, hall)
        assert dr1.drive() == wp(hall, "dept-planning")
        await take_out(fleet, locks, dr1, pl_id, "dept-planning", "Officer Zhou", 2)
        assert fleet.state_of(pl_id) == S.DELIVERED and fleet.state_of(hr_id) == S.RETURNING
        fleet.elevator(3, "closed", None)
        assert dr1.drive() == wp(hall, "lobby-E2-L3")
        fleet.elevator(3, "open", "dr1")
        dr1.drive()
        fleet.elevator(1, "open", "dr1")
        assert dr1.drive() == wp(hall, "win-A01")
        assert await type_pin(fleet, locks, hr_pin, "Clerk Wang", 1) == "compartment 1 open"
        locks.bank.close(1, occupied=False)
        dr1.finish(ha.UNLOAD_DOCUMENTS)
        assert fleet.state_of(hr_id) == S.RETURNED_TO_SENDER
        assert kinds(fleet, hr_id)[-3:] == ["arrived", "unlocked_by_sender", "returned"]
        assert fleet.store.verify_custody() == []

    run(scenario)


# ----------------------------------------------------------------------------- ETA per delivery
def test_each_delivery_gets_the_time_to_its_own_stop(fleet: Fleet, hall: Site) -> None:
    """On the way to floor 3, planning's files come after HR's hand-over and the drive on from HR."""
    hr_id, _ = fleet.deliver(recipient_place="dept-hrss")
    pl_id, _ = fleet.deliver(recipient_place="dept-planning")
    dr1 = fleet.robot("dr1", "dock-1")
    app = FastAPI()
    app.include_router(clerk_router)
    app.dependency_overrides[get_service] = lambda: fleet.service
    with TestClient(app) as client:

        def eta_of(delivery_id: str) -> dict[str, Any]:
            return client.get(f"/api/deliveries/{delivery_id}/eta").json()

        hr_eta, pl_eta = eta_of(hr_id), eta_of(pl_id)
        assert hr_eta["target"] == pl_eta["target"] == "pickup"
        assert hr_eta["eta_s"] == pytest.approx(pl_eta["eta_s"]), "both are loaded at the same window"
        dr1.drive()
        dr1.finish(ha.LOAD_DOCUMENTS)
        dr1.finish(ha.LOAD_DOCUMENTS)
        assert dr1.drive() == wp(hall, "lobby-E2-L1")
        hr_eta, pl_eta = eta_of(hr_id), eta_of(pl_id)
    assert hr_eta["target"] == pl_eta["target"] == "recipient"
    on_from_hr_s = plan_route(hall, wp(hall, "dept-hrss"), wp(hall, "dept-planning")).estimated_time_s
    assert pl_eta["eta_s"] - hr_eta["eta_s"] == pytest.approx(HANDOVER_S + on_from_hr_s, abs=0.5)


# ----------------------------------------------------------------------------- restart
@pytest.fixture
def hall_fleet(db_url: str, hall: Site, knowledge: KnowledgeBase) -> Iterator[Hall]:  # noqa: F811
    h = Hall(db_url, hall, knowledge)
    yield h
    h.close()


def test_a_shared_trip_completes_across_a_fleet_restart_in_the_car(hall_fleet: Hall, hall: Site) -> None:
    async def scenario() -> None:
        fleet = hall_fleet.fleet
        hr_id, hr_pin = fleet.deliver(recipient_place="dept-hrss")
        pl_id, pl_pin = fleet.deliver(recipient_place="dept-planning")
        dr1 = hall_fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)
        assert dr1.drive() == wp(hall, "win-A01")
        await load_both(fleet, dr1, locks, (hr_id, hr_pin), (pl_id, pl_pin))
        assert dr1.drive() == wp(hall, "lobby-E2-L1")
        fleet.elevator(1, "open", "dr1")
        assert dr1.drive() == "car-E2-L1"

        fleet = hall_fleet.restart()
        run_ = fleet.service.runs["dr1"]
        assert run_.delivery_ids == [hr_id, pl_id] and [c.compartment_id for c in run_.carried] == [1, 2]
        assert fleet.service.robots["dr1"].delivery_ids == [hr_id, pl_id]
        fleet.elevator(3, "open", "dr1")
        assert dr1.drive() == wp(hall, "dept-hrss")
        assert (fleet.state_of(hr_id), fleet.state_of(pl_id)) == (S.AWAITING_RECIPIENT, S.IN_TRANSIT)
        pin = recipient_pin(fleet, "dept-hrss", hr_id)
        assert verify_pin(pin, fleet.store.get_delivery(hr_id).recipient_pin_hash)
        await take_out(fleet, locks, dr1, hr_id, "dept-hrss", "Officer Li", 1)
        assert dr1.drive() == wp(hall, "dept-planning")
        await take_out(fleet, locks, dr1, pl_id, "dept-planning", "Officer Zhou", 2)
        for delivery_id in (hr_id, pl_id):
            assert fleet.state_of(delivery_id) == S.DELIVERED
            assert kinds(fleet, delivery_id) == DELIVERED, "no event lost or logged twice across the restart"
        assert hall_fleet.elevator_requests().count(("call", 3)) == 1
        assert fleet.store.verify_custody() == []

    run(scenario)


def test_a_compartment_blocked_by_wrong_pins_is_not_given_to_a_delivery(fleet: Fleet) -> None:
    fleet.service._pins.alerted.add(("dr1", 1))  # five wrong PINs blocked compartment 1 (technician alerted)
    first, _ = fleet.deliver(recipient_place="dept-hrss", barcode="DOC-1")
    second, _ = fleet.deliver(recipient_place="dept-hrss", barcode="DOC-2")
    fleet.robot("dr1", "dock-1")  # two compartments, one blocked
    assert fleet.service.robots["dr1"].delivery_ids == [first]
    assert fleet.store.get_delivery(first).compartment_id == 2
    assert fleet.state_of(second) == S.REQUESTED
