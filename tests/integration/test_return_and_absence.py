"""Files that do not reach their recipient: cancel after load, recipient absent, wrong PINs.

FleetService with the recording link and the in-test vehicle simulator of test_fleet_service; the
robot's PIN checks are its real compartment logic (robots/core/compartments.py), armed from the
orders the fleet sends, so "the old PIN no longer opens it" is what the robot would answer."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from test_fleet_service import Fleet, S, VehicleSim, fleet, hall, knowledge, run, states_seen, until  # noqa: F401

from fleet_api.domain.absence import AbsenceRule
from fleet_api.service import TECHNICIAN_DESK, FleetError
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.site import Site
from robots.core.compartments import CompartmentBank, CompartmentError, HandoverKind

pytestmark = pytest.mark.integration
WAIT_MIN = 10.0


class Locks:
    """The robot's compartments behind the simulator: each load/unload node action arms its hand-over
    with the pinHash the fleet sent; unlockCompartment instant actions get the bank's real answer."""

    def __init__(self, sim: VehicleSim, compartments: int = 2) -> None:
        self.sim = sim
        self.bank = CompartmentBank(compartments)
        self.armed: set[str] = set()
        self.answered: set[str] = set()

    def arm(self) -> None:
        """Prepare the hand-over of every node action the robot is running now."""
        for node in self.sim.nodes:
            for action in node.actions:
                state = self.sim.actions.get(action.actionId)
                if action.actionId in self.armed or state is None or state.actionStatus != "RUNNING":
                    continue
                kind = HandoverKind.LOAD if action.actionType == ha.LOAD_DOCUMENTS else HandoverKind.UNLOAD
                self.bank.prepare(
                    int(action.param("compartmentId")),
                    str(action.param("deliveryId")),
                    kind,
                    str(action.param("pinHash")),
                )
                self.armed.add(action.actionId)

    def answer(self) -> None:
        for serial, action in self.sim.link.instant:
            if (
                serial != self.sim.serial
                or action.actionType != ha.UNLOCK_COMPARTMENT
                or action.actionId in self.answered
            ):
                continue
            self.answered.add(action.actionId)
            try:
                c = self.bank.unlock(int(action.param("compartmentId")), str(action.param("pin")))
                self.sim.set_action(action.actionId, v.ActionStatus.FINISHED, f"compartment {c.compartment_id} open")
            except CompartmentError as exc:
                self.sim.set_action(action.actionId, v.ActionStatus.FAILED, str(exc))
        self.sim.publish()


async def type_pin(fleet: Fleet, locks: Locks, pin: str, person: str, compartment_id: int = 1) -> str:
    """A person types a PIN at the robot's screen; the robot answers through its compartment logic."""
    locks.arm()
    sent_before = len(fleet.link.instant_for(locks.sim.serial, ha.UNLOCK_COMPARTMENT))
    task = asyncio.create_task(fleet.service.unlock_compartment(locks.sim.serial, compartment_id, pin, person))
    await until(
        lambda: len(fleet.link.instant_for(locks.sim.serial, ha.UNLOCK_COMPARTMENT)) > sent_before or task.done(),
        "the unlock to reach the robot",
    )
    locks.answer()
    return await asyncio.wait_for(task, 5.0)


async def load(fleet: Fleet, dr1: VehicleSim, locks: Locks, sender_pin: str) -> None:
    """The robot drives to the window, the clerk opens with the sender PIN, puts the files in, closes."""
    dr1.drive()
    assert await type_pin(fleet, locks, sender_pin, "Clerk Wang") == "compartment 1 open"
    locks.bank.close(1, occupied=True)
    dr1.finish(ha.LOAD_DOCUMENTS)


def load_at_the_window(fleet: Fleet, dr1: VehicleSim, locks: Locks, sender_pin: str) -> None:
    run(lambda: load(fleet, dr1, locks, sender_pin))


def recipient_pin(fleet: Fleet, place: str, delivery_id: str) -> str:
    """The newest PIN the recipient's page was sent for ``delivery_id``."""
    for note in fleet.store.notifications_for(place):  # newest first
        found = re.search(r"PIN: (\d{6})", note.text_en)
        if note.delivery_id == delivery_id and found:
            return found.group(1)
    raise AssertionError(f"no PIN notified to {place} for {delivery_id}")


def kinds(fleet: Fleet, delivery_id: str) -> list[str]:
    return [e.kind for e in fleet.store.custody_for(delivery_id)]


@pytest.fixture
def same_floor(fleet: Fleet) -> tuple[VehicleSim, Locks, str, str]:
    """dr1 has loaded files at window A01 for window C01 (same floor) and waits there for the recipient."""
    fleet.service.absence_rule = AbsenceRule(WAIT_MIN, time_scale=1.0)
    dr1 = fleet.robot("dr1", "dock-1")
    locks = Locks(dr1)
    delivery_id, sender_pin = fleet.deliver(recipient_place="win-C01")
    load_at_the_window(fleet, dr1, locks, sender_pin)
    dr1.drive()
    assert fleet.state_of(delivery_id) == S.AWAITING_RECIPIENT
    locks.arm()
    return dr1, locks, delivery_id, sender_pin


# ----------------------------------------------------------------------------- cancel after load
def test_cancel_on_the_way_turns_the_robot_back_and_only_the_sender_takes_the_files(fleet: Fleet, hall: Site) -> None:
    async def scenario() -> None:
        dr1 = fleet.robot("dr1", "dock-1")
        locks = Locks(dr1)
        delivery_id, sender_pin = fleet.deliver()  # window A01 -> HR department on level 3
        await load(fleet, dr1, locks, sender_pin)
        lobby, window = hall.place("lobby-E2-L1").waypoint_id, hall.place("win-A01").waypoint_id
        assert dr1.drive() == lobby and fleet.state_of(delivery_id) == S.IN_TRANSIT
        assert [(e, r.command) for e, r in fleet.link.elevator] == [("E2", "call")]
        to_recipient = recipient_pin(fleet, "dept-hrss", delivery_id)

        fleet.service.cancel_delivery(delivery_id, "Clerk Wang")
        delivery = fleet.store.get_delivery(delivery_id)
        assert delivery.state == S.RETURNING and delivery.robot_id == "dr1"
        assert "returning to win-A01: cancelled by Clerk Wang" in delivery.history[-1].message
        assert len(fleet.link.instant_for("dr1", "cancelOrder")) == 1
        assert [(e, r.command) for e, r in fleet.link.elevator][-1] == ("E2", "release"), "the called car is let go"
        back = fleet.link.orders_for("dr1")[-1]
        assert back.nodes[0].nodeId == lobby and back.nodes[-1].nodeId == window
        assert [a.actionType for n in back.nodes for a in n.actions] == [ha.UNLOAD_DOCUMENTS]
        assert back.nodes[-1].actions[0].param("pinHash") == delivery.sender_pin_hash
        assert any("coming back" in n.text_en for n in fleet.store.notifications_for("win-A01"))

        # on the way back nobody's PIN is relayed to the robot, not even the one the recipient got
        relayed = len(fleet.link.instant_for("dr1", ha.UNLOCK_COMPARTMENT))
        for pin in (to_recipient, sender_pin):
            with pytest.raises(FleetError, match="opens only there") as refused:
                await type_pin(fleet, locks, pin, "Officer Li")
            assert refused.value.status == 409
        assert len(fleet.link.instant_for("dr1", ha.UNLOCK_COMPARTMENT)) == relayed

        assert dr1.drive() == window
        assert fleet.state_of(delivery_id) == S.RETURNING
        assert "back at win-A01" in fleet.store.get_delivery(delivery_id).history[-1].message
        assert await type_pin(fleet, locks, sender_pin, "Clerk Wang") == "compartment 1 open"
        locks.bank.close(1, occupied=False)
        dr1.finish(ha.UNLOAD_DOCUMENTS)

        assert fleet.state_of(delivery_id) == S.RETURNED_TO_SENDER
        assert states_seen(fleet.store, delivery_id)[-4:] == ["loaded", "in_transit", "returning", "returned_to_sender"]
        custody = fleet.store.custody_for(delivery_id)
        assert [e.kind for e in custody] == [
            "created",
            "assigned",
            "loaded",
            "departed",
            "returning",
            "unlock_refused",
            "unlock_refused",
            "arrived",
            "unlocked_by_sender",
            "returned",
        ]
        tail = [
            (e.kind, e.actor, e.place_id)
            for e in custody
            if e.kind in ("returning", "arrived", "unlocked_by_sender", "returned")
        ]
        assert tail == [
            ("returning", "Clerk Wang", "lobby-E2-L1"),
            ("arrived", "dr1", "win-A01"),
            ("unlocked_by_sender", "Clerk Wang", "win-A01"),
            ("returned", "Clerk Wang", "win-A01"),
        ]
        assert fleet.store.verify_custody() == []
        assert fleet.link.orders_for("dr1")[-1].nodes[-1].nodeId == hall.place("dock-1").waypoint_id  # then home

    run(scenario)


def test_cancel_inside_the_elevator_turns_back_once_out_of_the_car(fleet: Fleet, hall: Site) -> None:
    dr1 = fleet.robot("dr1", "dock-1")
    delivery_id, sender_pin = fleet.deliver()
    load_at_the_window(fleet, dr1, Locks(dr1), sender_pin)
    dr1.drive()
    fleet.elevator(1, "open", "dr1")
    assert dr1.drive() == "car-E2-L1"

    fleet.service.cancel_delivery(delivery_id, "Clerk Wang")
    assert fleet.state_of(delivery_id) == S.RETURNING
    assert fleet.link.instant_for("dr1", "cancelOrder") == [], "never stopped inside the car"
    fleet.elevator(3, "open", "dr1")
    assert dr1.drive(until_node=hall.place("lobby-E2-L3").waypoint_id) == hall.place("lobby-E2-L3").waypoint_id
    assert len(fleet.link.instant_for("dr1", "cancelOrder")) == 1
    back = fleet.link.orders_for("dr1")[-1]
    assert back.nodes[0].nodeId == hall.place("lobby-E2-L3").waypoint_id
    assert back.nodes[-1].nodeId == hall.place("win-A01").waypoint_id
    assert "elevator_exited" in kinds(fleet, delivery_id)


# ----------------------------------------------------------------------------- recipient absent
def test_absent_recipient_is_notified_again_then_an_alternate_receives_with_a_new_pin(
    fleet: Fleet, same_floor: tuple[VehicleSim, Locks, str, str]
) -> None:
    dr1, locks, delivery_id, _ = same_floor
    arrived = fleet.store.custody_for(delivery_id)[-1]
    assert arrived.kind == "arrived"
    old_pin = recipient_pin(fleet, "win-C01", delivery_id)
    notes_before = len(fleet.store.notifications_for("win-C01"))

    fleet.service.check_absences(arrived.at + timedelta(minutes=WAIT_MIN - 0.5))
    assert len(fleet.store.notifications_for("win-C01")) == notes_before and kinds(fleet, delivery_id)[-1] == "arrived"
    fleet.service.check_absences(arrived.at + timedelta(minutes=WAIT_MIN + 0.5))
    assert kinds(fleet, delivery_id)[-2:] == ["recipient_absent", "renotified"]
    renotice = fleet.store.notifications_for("win-C01")[0]
    assert "still wait" in renotice.text_en and "alternate" in renotice.text_en and "代收" in renotice.text_zh
    assert fleet.state_of(delivery_id) == S.AWAITING_RECIPIENT, "the robot keeps waiting with the files"

    delivery, new_pin = fleet.service.name_alternate(delivery_id, "Officer Zhang", "Section Chief Li")
    assert new_pin != old_pin and recipient_pin(fleet, "win-C01", delivery_id) == new_pin
    assert delivery.alternate_person == "Officer Zhang"
    last = fleet.store.custody_for(delivery_id)[-1]
    assert (last.kind, last.actor, last.place_id) == ("alternate_named", "Section Chief Li", "win-C01")
    assert len(fleet.link.instant_for("dr1", "cancelOrder")) == 1
    rearmed = fleet.link.orders_for("dr1")[-1]
    assert [n.nodeId for n in rearmed.nodes] == [fleet.service.site.place("win-C01").waypoint_id]
    with pytest.raises(FleetError, match="already named") as twice:
        fleet.service.name_alternate(delivery_id, "Officer Zhao", "Section Chief Li")
    assert twice.value.status == 409

    dr1.step()  # the robot takes the one-node order: its unloadDocuments now holds the new PIN's hash
    dr1.publish()

    async def at_the_robot() -> None:
        with pytest.raises(FleetError, match="wrong PIN") as refused:
            await type_pin(fleet, locks, old_pin, "Officer Li")
        assert refused.value.status == 403
        assert await type_pin(fleet, locks, new_pin, "Officer Zhang") == "compartment 1 open"

    run(at_the_robot)
    locks.bank.close(1, occupied=False)
    dr1.finish(ha.UNLOAD_DOCUMENTS)
    assert fleet.state_of(delivery_id) == S.DELIVERED
    by_kind = {e.kind: e for e in fleet.store.custody_for(delivery_id)}
    assert by_kind["wrong_pin"].actor == "Officer Li" and by_kind["wrong_pin"].place_id == "win-C01"
    assert by_kind["unlocked_by_recipient"].actor == "Officer Zhang"
    assert by_kind["delivered"].actor == "Officer Zhang"
    assert fleet.store.verify_custody() == []


def test_nobody_comes_and_the_files_go_back_to_the_sender(
    fleet: Fleet, same_floor: tuple[VehicleSim, Locks, str, str]
) -> None:
    dr1, locks, delivery_id, sender_pin = same_floor
    arrived_at = fleet.store.custody_for(delivery_id)[-1].at
    to_recipient = recipient_pin(fleet, "win-C01", delivery_id)
    fleet.service.check_absences(arrived_at + timedelta(minutes=WAIT_MIN + 0.5))
    fleet.service.check_absences(arrived_at + timedelta(minutes=2 * WAIT_MIN))
    assert fleet.state_of(delivery_id) == S.AWAITING_RECIPIENT, "the second wait is a whole wait"
    fleet.service.check_absences(arrived_at + timedelta(minutes=2 * WAIT_MIN + 1))
    assert fleet.state_of(delivery_id) == S.RETURNING
    fleet.service.check_absences(arrived_at + timedelta(minutes=5 * WAIT_MIN))  # nothing more to do
    assert kinds(fleet, delivery_id)[-4:] == ["recipient_absent", "renotified", "recipient_absent", "returning"]
    back = fleet.link.orders_for("dr1")[-1]
    assert back.nodes[-1].nodeId == fleet.service.site.place("win-A01").waypoint_id
    assert back.nodes[-1].actions[0].param("pinHash") == fleet.store.get_delivery(delivery_id).sender_pin_hash

    async def the_way_back() -> None:
        with pytest.raises(FleetError, match="opens only there"):
            await type_pin(fleet, locks, to_recipient, "Officer Li")  # the recipient turns up too late
        dr1.drive()
        assert await type_pin(fleet, locks, sender_pin, "Clerk Wang") == "compartment 1 open"

    run(the_way_back)
    locks.bank.close(1, occupied=False)
    dr1.finish(ha.UNLOAD_DOCUMENTS)
    assert fleet.state_of(delivery_id) == S.RETURNED_TO_SENDER
    assert kinds(fleet, delivery_id)[-3:] == ["arrived", "unlocked_by_sender", "returned"]
    assert fleet.store.verify_custody() == []


def test_the_wait_is_counted_in_hall_minutes(fleet: Fleet, same_floor: tuple[VehicleSim, Locks, str, str]) -> None:
    _, _, delivery_id, _ = same_floor
    fleet.service.absence_rule = AbsenceRule(WAIT_MIN, time_scale=60.0)  # the demo hall: 1 s is a hall minute
    arrived_at = fleet.store.custody_for(delivery_id)[-1].at
    fleet.service.check_absences(arrived_at + timedelta(seconds=WAIT_MIN - 1))
    assert kinds(fleet, delivery_id)[-1] == "arrived"
    fleet.service.check_absences(arrived_at + timedelta(seconds=WAIT_MIN + 1))
    assert kinds(fleet, delivery_id)[-1] == "renotified"


def test_a_restarted_fleet_keeps_the_schedule_from_the_custody_log(
    fleet: Fleet, same_floor: tuple[VehicleSim, Locks, str, str]
) -> None:
    _, _, delivery_id, _ = same_floor
    arrived_at = fleet.store.custody_for(delivery_id)[-1].at
    fleet.service.check_absences(arrived_at + timedelta(minutes=WAIT_MIN + 1))
    fleet.service._absences.clear()  # what a restart loses
    fleet.service.check_absences(arrived_at + timedelta(minutes=WAIT_MIN + 2))
    assert kinds(fleet, delivery_id).count("renotified") == 1, "notified again once, not once per restart"
    fleet.service.check_absences(arrived_at + timedelta(minutes=2 * WAIT_MIN + 2))
    assert fleet.state_of(delivery_id) == S.RETURNING


def test_no_alternate_before_the_robot_is_there(fleet: Fleet) -> None:
    fleet.robot("dr1", "dock-1")
    delivery_id, _ = fleet.deliver(recipient_place="win-C01")
    with pytest.raises(FleetError, match="only while the robot waits at the destination") as caught:
        fleet.service.name_alternate(delivery_id, "Officer Zhang", "Section Chief Li")
    assert caught.value.status == 409


# ----------------------------------------------------------------------------- wrong PINs
def test_five_wrong_pins_block_the_compartment_and_alert_the_technicians(
    fleet: Fleet, same_floor: tuple[VehicleSim, Locks, str, str]
) -> None:
    dr1, locks, delivery_id, _ = same_floor
    right = recipient_pin(fleet, "win-C01", delivery_id)
    wrong = "000000" if right != "000000" else "111111"
    events = fleet.service.subscribe()

    async def at_the_robot() -> None:
        for attempt in range(1, 6):
            with pytest.raises(FleetError, match="wrong PIN") as refused:
                await type_pin(fleet, locks, wrong, "Stranger")
            assert refused.value.status == 403
            assert fleet.store.notifications_for(TECHNICIAN_DESK) == [] or attempt == 5
        with pytest.raises(FleetError, match="blocked"):  # now even the right PIN is not checked
            await type_pin(fleet, locks, right, "Officer Li")

    run(at_the_robot)

    custody = fleet.store.custody_for(delivery_id)
    wrong_pins = [e for e in custody if e.kind == "wrong_pin"]
    assert len(wrong_pins) == 5
    assert all(
        (e.actor, e.robot_id, e.compartment_id, e.place_id) == ("Stranger", "dr1", 1, "win-C01") for e in wrong_pins
    )
    assert [re.search(r"wrong PIN (\d) in a row", e.detail).group(1) for e in wrong_pins] == list("12345")
    alerts = [e for e in custody if e.kind == "alert"]
    assert len(alerts) == 1 and alerts[0].seq > wrong_pins[-1].seq
    assert custody[-1].kind == "unlock_refused"
    (note,) = fleet.store.notifications_for(TECHNICIAN_DESK)
    assert "dr1" in note.text_zh and "锁定" in note.text_zh and "blocked" in note.text_en and "win-C01" in note.text_en
    emitted = [events.get_nowait() for _ in range(events.qsize())]
    assert [e["data"]["compartment_id"] for e in emitted if e["kind"] == "alert"] == [1]
    assert fleet.state_of(delivery_id) == S.AWAITING_RECIPIENT, "the files stay locked in the robot"
    assert fleet.store.verify_custody() == []


def test_a_right_pin_starts_the_count_again(fleet: Fleet, same_floor: tuple[VehicleSim, Locks, str, str]) -> None:
    dr1, locks, delivery_id, _ = same_floor
    right = recipient_pin(fleet, "win-C01", delivery_id)
    wrong = "000000" if right != "000000" else "111111"

    async def at_the_robot() -> None:
        for _ in range(4):
            with pytest.raises(FleetError):
                await type_pin(fleet, locks, wrong, "Officer Li")
        assert await type_pin(fleet, locks, right, "Officer Li") == "compartment 1 open"

    run(at_the_robot)
    assert fleet.store.notifications_for(TECHNICIAN_DESK) == []
    assert kinds(fleet, delivery_id).count("wrong_pin") == 4
    assert "alert" not in kinds(fleet, delivery_id)
