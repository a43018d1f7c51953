"""A fleet manager restart in the middle of deliveries loses nothing.

"Restart" here: the FleetService and its store connection are dropped, and a new FleetService is built
on the same database (SQLite file, and PostgreSQL where present) the way the app's start-up does it:
robots registered from the fleet file, stored runs resumed, then the link's resync (stateRequest).
The in-test vehicles keep driving on what they had received; what they report while no fleet manager
listens is lost, as over MQTT. Compartments are the robot's real PIN logic (``Locks``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pg_database import postgres_database_url
from test_fleet_service import MAKER, FakeLink, Fleet, S, VehicleSim, hall, knowledge, run  # noqa: F401
from test_return_and_absence import Locks, kinds, load, recipient_pin, type_pin

from fleet_api.adapters.store import SqlStore
from fleet_api.domain.absence import AbsenceRule
from fleet_api.domain.pins import verify_pin
from fleet_api.service import FleetService
from hallfleet.knowledge import KnowledgeBase
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.site import Site

pytestmark = pytest.mark.integration

WAIT_MIN = 10.0
DELIVERED_CUSTODY = [
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


class Nowhere:
    """Where a vehicle's states go while no fleet manager runs."""

    def handle_vehicle(self, *_message: Any) -> None:
        return None


class Hall:
    """One fleet manager at a time on one database; ``restart`` replaces it, the vehicles stay."""

    def __init__(self, url: str, site: Site, knowledge_base: KnowledgeBase) -> None:
        self.url, self.site, self.knowledge = url, site, knowledge_base
        self.sims: dict[str, tuple[VehicleSim, str]] = {}  # serial -> (vehicle, home place): the fleet file
        self.links: list[FakeLink] = []
        self.fleet = self._start()

    def _start(self) -> Fleet:
        store, link = SqlStore(self.url), FakeLink()
        service = FleetService(self.site, store, self.knowledge, link)
        service.absence_rule = AbsenceRule(WAIT_MIN, time_scale=1.0)
        self.links.append(link)
        return Fleet(service, link, store)

    def robot(self, serial: str, home: str) -> VehicleSim:
        sim = self.fleet.robot(serial, home)
        self.sims[serial] = (sim, home)
        return sim

    def stop(self) -> None:
        """The fleet manager is gone (killed): what it sent was received, nobody hears the vehicles now."""
        for sim, _ in self.sims.values():
            sim.take_orders()
            sim.service = Nowhere()
        self.fleet.store.close()

    def start(self) -> Fleet:
        """A new fleet manager process on the same database, as the app's lifespan starts it."""
        self.fleet = fleet = self._start()
        for serial, (_, home) in self.sims.items():
            fleet.service.register_robot(serial, MAKER, "delivery", home)
        fleet.service.resume_runs()
        for serial, (sim, _) in self.sims.items():
            sim.service, sim.link, sim.orders_seen = fleet.service, fleet.link, 0
            # the retained factsheet and connection arrive on subscribe; ONLINE asks for the state
            fleet.service.handle_vehicle(
                MAKER,
                serial,
                "factsheet",
                v.Factsheet.from_dict(ha.build_factsheet(MAKER, serial, "delivery", compartments=2)),
            )
            fleet.connection(serial, v.ConnectionState.ONLINE)
            assert fleet.link.instant_for(serial, "stateRequest"), "the new fleet manager asks for the state"
            sim.publish()  # the answer to the stateRequest
        return fleet

    def restart(self) -> Fleet:
        self.stop()
        return self.start()

    def elevator_requests(self) -> list[tuple[str, int | None]]:
        """Every elevator request of every fleet manager process, in order."""
        return [(r.command, r.level) for link in self.links for _, r in link.elevator]

    def close(self) -> None:
        self.fleet.store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fleet.db'}"
    else:
        yield from postgres_database_url("hallfleet_restart")


@pytest.fixture
def hall_fleet(db_url: str, hall: Site, knowledge: KnowledgeBase) -> Iterator[Hall]:
    h = Hall(db_url, hall, knowledge)
    yield h
    h.close()


def updates_applied_once(sim: VehicleSim) -> None:
    assert len(sim.updates_applied) == len(set(sim.updates_applied)), sim.updates_applied


# ----------------------------------------------------------------------------- cross-floor delivery
@pytest.mark.parametrize("restart_at", ["assigned", "loaded_waiting_for_elevator", "in_the_car", "awaiting_recipient"])
def test_cross_floor_delivery_completes_across_a_restart(hall_fleet: Hall, hall: Site, restart_at: str) -> None:
    lobby, window, dept = (hall.place(p).waypoint_id for p in ("lobby-E2-L1", "win-A01", "dept-hrss"))

    def checkpoint(name: str) -> Fleet:
        return hall_fleet.restart() if name == restart_at else hall_fleet.fleet

    async def scenario() -> None:
        dr1 = hall_fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)
        delivery_id, sender_pin = hall_fleet.fleet.deliver()
        stored = hall_fleet.fleet.store.load_runs()["dr1"]
        assert re.fullmatch(r"\d{6}", stored["recipient_pins"].get(delivery_id) or ""), (
            "kept until the recipient is told"
        )

        fleet = checkpoint("assigned")
        assert fleet.state_of(delivery_id) == S.TO_PICKUP
        await load(fleet, dr1, locks, sender_pin)
        assert fleet.state_of(delivery_id) == S.LOADED
        assert fleet.store.load_runs()["dr1"]["recipient_pins"] == {}, "told: no longer stored beside the run"
        assert dr1.drive() == lobby
        assert fleet.state_of(delivery_id) == S.IN_TRANSIT

        fleet = checkpoint("loaded_waiting_for_elevator")
        assert hall_fleet.elevator_requests() == [("call", 1)]
        fleet.elevator(1, "open", "dr1")
        assert dr1.drive() == "car-E2-L1"

        fleet = checkpoint("in_the_car")
        assert hall_fleet.elevator_requests() == [("call", 1), ("call", 3)]
        fleet.elevator(3, "open", "dr1")
        assert dr1.drive() == dept
        assert fleet.state_of(delivery_id) == S.AWAITING_RECIPIENT

        fleet = checkpoint("awaiting_recipient")
        pin = recipient_pin(fleet, "dept-hrss", delivery_id)
        assert verify_pin(pin, fleet.store.get_delivery(delivery_id).recipient_pin_hash)
        assert await type_pin(fleet, locks, pin, "Officer Li") == "compartment 1 open"
        locks.bank.close(1, occupied=False)
        dr1.finish(ha.UNLOAD_DOCUMENTS)

        assert fleet.state_of(delivery_id) == S.DELIVERED
        assert kinds(fleet, delivery_id) == DELIVERED_CUSTODY
        assert fleet.store.verify_custody() == []
        assert hall_fleet.elevator_requests() == [("call", 1), ("call", 3), ("release", None)]
        to_recipient = [n.text_en for n in fleet.store.notifications_for("dept-hrss")]
        assert len(to_recipient) == 2 and "one-time PIN" in to_recipient[1] and "have arrived" in to_recipient[0]
        assert len(fleet.store.notifications_for("win-A01")) == 1  # "the robot has arrived", once
        updates_applied_once(dr1)
        assert [u for _, u in dr1.updates_applied[:3]] == [0, 1, 2], "one delivery order, released in three steps"
        assert fleet.store.load_runs() == {}, "delivered: nothing left to resume (the trip home is not stored)"
        assert fleet.link.orders_for("dr1")[-1].nodes[-1].nodeId == hall.place("dock-1").waypoint_id  # then home

    run(scenario)


def test_order_stored_but_never_received_is_sent_by_the_restarted_fleet(hall_fleet: Hall, hall: Site) -> None:
    dr1 = hall_fleet.robot("dr1", "dock-1")
    delivery_id, _ = hall_fleet.fleet.deliver()
    dr1.link_up = False  # the order never reached the robot before the fleet manager died
    hall_fleet.stop()
    dr1.link_up = True
    fleet = hall_fleet.start()
    assert [(o.orderUpdateId, o.nodes[0].nodeId) for o in fleet.link.orders_for("dr1")] == [
        (0, hall.place("dock-1").waypoint_id)
    ]
    assert dr1.drive() == hall.place("win-A01").waypoint_id
    assert fleet.state_of(delivery_id) == S.AWAITING_LOAD


def test_files_loaded_while_the_fleet_was_down_are_loaded_on_its_first_state(hall_fleet: Hall, hall: Site) -> None:
    async def scenario() -> None:
        dr1 = hall_fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)
        delivery_id, sender_pin = hall_fleet.fleet.deliver()
        assert dr1.drive() == hall.place("win-A01").waypoint_id
        assert hall_fleet.fleet.state_of(delivery_id) == S.AWAITING_LOAD
        hall_fleet.stop()
        # the clerk loads at the robot's own screen, the robot locks and drives on to the lobby
        locks.arm()
        locks.bank.unlock(1, sender_pin)
        locks.bank.close(1, occupied=True)
        dr1.finish(ha.LOAD_DOCUMENTS)
        assert dr1.drive() == hall.place("lobby-E2-L1").waypoint_id

        fleet = hall_fleet.start()
        assert fleet.state_of(delivery_id) == S.IN_TRANSIT
        assert kinds(fleet, delivery_id) == ["created", "assigned", "loaded", "departed"]
        loaded = fleet.store.custody_for(delivery_id)[2]
        assert (loaded.actor, loaded.place_id) == ("Clerk Wang", "win-A01")
        assert hall_fleet.elevator_requests() == [("call", 1)]
        pin = recipient_pin(fleet, "dept-hrss", delivery_id)  # the PIN stored before the restart, now told
        assert verify_pin(pin, fleet.store.get_delivery(delivery_id).recipient_pin_hash)

        fleet.elevator(1, "open", "dr1")
        dr1.drive()
        fleet.elevator(3, "open", "dr1")
        assert dr1.drive() == hall.place("dept-hrss").waypoint_id
        assert await type_pin(fleet, locks, pin, "Officer Li") == "compartment 1 open"
        dr1.finish(ha.UNLOAD_DOCUMENTS)
        assert kinds(fleet, delivery_id) == DELIVERED_CUSTODY
        assert fleet.store.verify_custody() == []

    run(scenario)


# ----------------------------------------------------------------------------- returning and absence
def test_files_on_their_way_back_reach_the_sender_across_a_restart(hall_fleet: Hall, hall: Site) -> None:
    async def scenario() -> None:
        dr1 = hall_fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)
        delivery_id, sender_pin = hall_fleet.fleet.deliver()
        await load(hall_fleet.fleet, dr1, locks, sender_pin)
        assert dr1.drive() == hall.place("lobby-E2-L1").waypoint_id
        hall_fleet.fleet.service.cancel_delivery(delivery_id, "Clerk Wang")
        assert hall_fleet.fleet.state_of(delivery_id) == S.RETURNING

        fleet = hall_fleet.restart()
        assert fleet.link.instant_for("dr1", "cancelOrder") == [], "the trip back is resumed, not replaced again"
        assert dr1.drive() == hall.place("win-A01").waypoint_id
        assert await type_pin(fleet, locks, sender_pin, "Clerk Wang") == "compartment 1 open"
        locks.bank.close(1, occupied=False)
        dr1.finish(ha.UNLOAD_DOCUMENTS)
        assert fleet.state_of(delivery_id) == S.RETURNED_TO_SENDER
        assert kinds(fleet, delivery_id) == [
            "created",
            "assigned",
            "loaded",
            "departed",
            "returning",
            "arrived",
            "unlocked_by_sender",
            "returned",
        ]
        assert fleet.store.verify_custody() == []
        assert hall_fleet.elevator_requests() == [("call", 1), ("release", None)]
        updates_applied_once(dr1)

    run(scenario)


def test_cancel_in_the_car_still_turns_back_once_out_after_a_restart(hall_fleet: Hall, hall: Site) -> None:
    async def scenario() -> None:
        dr1 = hall_fleet.robot("dr1", "dock-1")
        delivery_id, sender_pin = hall_fleet.fleet.deliver()
        await load(hall_fleet.fleet, dr1, Locks(dr1), sender_pin)
        dr1.drive()
        hall_fleet.fleet.elevator(1, "open", "dr1")
        assert dr1.drive() == "car-E2-L1"
        hall_fleet.fleet.service.cancel_delivery(delivery_id, "Clerk Wang")

        fleet = hall_fleet.restart()
        assert fleet.link.instant_for("dr1", "cancelOrder") == [], "never stopped inside the car"
        fleet.elevator(3, "open", "dr1")
        upper_lobby = hall.place("lobby-E2-L3").waypoint_id
        assert dr1.drive(until_node=upper_lobby) == upper_lobby
        assert len(fleet.link.instant_for("dr1", "cancelOrder")) == 1
        back = fleet.link.orders_for("dr1")[-1]
        assert (back.nodes[0].nodeId, back.nodes[-1].nodeId) == (upper_lobby, hall.place("win-A01").waypoint_id)
        assert kinds(fleet, delivery_id).count("elevator_exited") == 1
        assert fleet.store.verify_custody() == []

    run(scenario)


def test_absent_recipient_schedule_goes_on_after_a_restart(hall_fleet: Hall, hall: Site) -> None:
    async def scenario() -> None:
        dr1 = hall_fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)
        delivery_id, sender_pin = hall_fleet.fleet.deliver(recipient_place="win-C01")
        await load(hall_fleet.fleet, dr1, locks, sender_pin)
        dr1.drive()
        assert hall_fleet.fleet.state_of(delivery_id) == S.AWAITING_RECIPIENT
        arrived_at = hall_fleet.fleet.store.custody_for(delivery_id)[-1].at

        fleet = hall_fleet.restart()
        fleet.service.check_absences(arrived_at + timedelta(minutes=WAIT_MIN + 1))
        assert kinds(fleet, delivery_id)[-2:] == ["recipient_absent", "renotified"]
        fleet = hall_fleet.restart()
        fleet.service.check_absences(arrived_at + timedelta(minutes=WAIT_MIN + 2))
        assert kinds(fleet, delivery_id).count("renotified") == 1
        fleet.service.check_absences(arrived_at + timedelta(minutes=2 * WAIT_MIN + 2))
        assert fleet.state_of(delivery_id) == S.RETURNING
        assert fleet.link.orders_for("dr1")[-1].nodes[-1].nodeId == hall.place("win-A01").waypoint_id
        assert fleet.store.verify_custody() == []

    run(scenario)


def test_assigned_but_never_stored_trip_goes_back_to_the_scheduler(hall_fleet: Hall) -> None:
    dr1 = hall_fleet.robot("dr1", "dock-1")
    delivery_id, _ = hall_fleet.fleet.deliver()
    store = hall_fleet.fleet.store
    # the process died between assigning the delivery and storing (and so sending) its trip
    delivery = store.get_delivery(delivery_id)
    delivery.state = S.ASSIGNED
    store.save_delivery(delivery)
    store.delete_run("dr1")
    dr1.nodes, dr1.index, dr1.order_id = [], 0, ""  # and the robot never got an order
    dr1.orders_seen = len(hall_fleet.fleet.link.orders)
    fleet = hall_fleet.restart()
    assert fleet.state_of(delivery_id) == S.TO_PICKUP  # requested again, then given to dr1 on its first state
    history = " ".join(h.message for h in fleet.store.get_delivery(delivery_id).history)
    assert "restarted before the robot got the order" in history
    assert fleet.link.orders_for("dr1")[0].orderUpdateId == 0
