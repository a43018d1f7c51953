"""FleetService end to end with a real SQLite store and knowledge base, a recording link and a small
in-test vehicle simulator that follows the orders it receives and reports VDA 5050 states."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from fleet_api.adapters.store import SqlStore
from fleet_api.domain.deliveries import DeliveryState, Document, IllegalTransition, Party
from fleet_api.service import FleetError, FleetService
from hallfleet.knowledge import KnowledgeBase
from hallfleet.protocol import elevator as ev
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.site import Site, load_site

pytestmark = pytest.mark.integration

DEMO_HALL = Path(__file__).resolve().parents[2] / "maps" / "demo_hall"
MAKER = "HallFleet"
S = DeliveryState
TEST_TIMEOUT_S = 20.0


# ----------------------------------------------------------------------------- test doubles
class FakeLink:
    """Records what the service sends, stamping headers like the MQTT adapter does."""

    def __init__(self) -> None:
        self.orders: list[tuple[str, v.Order]] = []
        self.instant: list[tuple[str, v.Action]] = []
        self.elevator: list[tuple[str, ev.ElevatorRequest]] = []
        self._header_id = 0

    def _header(self, manufacturer: str, serial: str) -> dict[str, Any]:
        self._header_id += 1
        return {
            "headerId": self._header_id,
            "timestamp": v.utc_timestamp(),
            "manufacturer": manufacturer,
            "serialNumber": serial,
        }

    def send_order(self, manufacturer: str, serial: str, order: v.Order) -> v.Order:
        stamped = order.model_copy(update=self._header(manufacturer, serial))
        self.orders.append((serial, stamped))
        return stamped

    def send_instant_actions(self, manufacturer: str, serial: str, actions: list[v.Action]) -> v.InstantActions:
        self.instant.extend((serial, a) for a in actions)
        return v.InstantActions(**self._header(manufacturer, serial), actions=actions)

    def send_elevator_request(self, elevator_id: str, request: ev.ElevatorRequest) -> None:
        self.elevator.append((elevator_id, request))

    def orders_for(self, serial: str) -> list[v.Order]:
        return [o for s, o in self.orders if s == serial]

    def instant_for(self, serial: str, action_type: str) -> list[v.Action]:
        return [a for s, a in self.instant if s == serial and a.actionType == action_type]


class VehicleSim:
    """Drives through released nodes one at a time and publishes a state at each.

    Node actions start RUNNING on arrival; HARD ones hold the robot until the test finishes them.
    """

    def __init__(
        self,
        service: FleetService,
        link: FakeLink,
        serial: str,
        home_place: str,
        battery_pct: float = 90.0,
        manufacturer: str = MAKER,
    ) -> None:
        self.service, self.link, self.serial, self.manufacturer = service, link, serial, manufacturer
        waypoint = service.site.waypoint(service.site.place(home_place).waypoint_id)
        self.idle_node = v.Node(
            nodeId=waypoint.id,
            sequenceId=0,
            released=True,
            nodePosition=v.NodePosition(x=waypoint.x_m, y=waypoint.y_m, mapId=service.site.map_id(waypoint.level)),
        )
        self.battery_pct = battery_pct
        self.order_id, self.update_id = "", 0
        self.nodes: list[v.Node] = []
        self.index = 0
        self.actions: dict[str, v.ActionState] = {}
        self.errors: list[v.Error] = []
        self.orders_seen = 0
        self.header_id = 0
        self.link_up = True
        self.updates_applied: list[tuple[str, int]] = []

    def lose_link(self) -> None:
        """The broker is out of reach: whatever the fleet sends now never arrives."""
        self.take_orders()
        self.link_up = False

    # -- orders
    def take_orders(self) -> None:
        orders = self.link.orders_for(self.serial)
        if self.link_up:
            for order in orders[self.orders_seen :]:
                self._accept(order)
        self.orders_seen = len(orders)

    def _accept(self, order: v.Order) -> None:
        if order.orderId != self.order_id:
            assert order.nodes[0].nodeId == self.node.nodeId, "a new order must start where the robot is"
            self.order_id, self.nodes, self.index = order.orderId, list(order.nodes), 0
            self.actions = {}
        elif order.orderUpdateId == self.update_id:
            return  # a resent update: nothing new (VDA 5050 6.6.2)
        else:
            assert order.orderUpdateId > self.update_id, "order updates must count up"
            first = order.nodes[0]
            base_end = [n for n in self.nodes if n.released][-1]
            assert (first.nodeId, first.sequenceId) == (base_end.nodeId, base_end.sequenceId), (
                "an update must start at the decision point"
            )
            self.nodes = [n for n in self.nodes if n.sequenceId < first.sequenceId] + list(order.nodes)
        self.update_id = order.orderUpdateId
        self.updates_applied.append((order.orderId, order.orderUpdateId))
        for node in order.nodes:
            for action in node.actions:
                self.actions.setdefault(
                    action.actionId,
                    v.ActionState(
                        actionId=action.actionId, actionType=action.actionType, actionStatus=v.ActionStatus.WAITING
                    ),
                )
        if self.index == 0:
            self._arrive()

    # -- motion
    @property
    def node(self) -> v.Node:
        return self.nodes[self.index] if self.nodes else self.idle_node

    def _arrive(self) -> None:
        """Start the node's actions in order; a HARD one waits until the ones before it are done, as
        on our robot (robots/core/vehicle.py: two loads at one window run one after the other)."""
        for action in self.node.actions:
            status = self.actions[action.actionId].actionStatus
            if status in ("RUNNING", "INITIALIZING") and action.blockingType == v.BlockingType.HARD:
                return
            if status == v.ActionStatus.WAITING:
                busy = any(
                    self.actions[a.actionId].actionStatus in ("RUNNING", "INITIALIZING") for a in self.node.actions
                )
                if busy and action.blockingType == v.BlockingType.HARD:
                    return
                self.set_action(action.actionId, v.ActionStatus.RUNNING)

    def _blocked(self) -> bool:
        return any(
            self.actions[a.actionId].actionStatus not in ("FINISHED", "FAILED")
            for a in self.node.actions
            if a.blockingType == v.BlockingType.HARD
        )

    def step(self) -> bool:
        """Drive to the next node if it is released and nothing holds the robot here."""
        self.take_orders()
        if self.index + 1 >= len(self.nodes) or not self.nodes[self.index + 1].released or self._blocked():
            return False
        self.index += 1
        self._arrive()
        self.publish()
        return True

    def drive(self, until_node: str | None = None) -> str:
        """Drive as far as allowed (or until ``until_node``); returns the node the robot stands at."""
        for _ in range(500):
            if until_node is not None and self.node.nodeId == until_node:
                break
            if not self.step():
                break
        return self.node.nodeId

    # -- reporting
    def set_action(self, action_id: str, status: str, result: str | None = None) -> None:
        old = self.actions.get(action_id)
        self.actions[action_id] = v.ActionState(
            actionId=action_id,
            actionType=old.actionType if old else None,
            actionStatus=status,
            resultDescription=result,
        )
        if status in ("FINISHED", "FAILED") and any(a.actionId == action_id for a in self.node.actions):
            self._arrive()  # the next action at this node may start now

    def finish(self, action_type: str) -> None:
        """The person at the robot did the work (loaded / took the files): the node action is FINISHED."""
        running = [a for a in self.actions.values() if a.actionType == action_type and a.actionStatus == "RUNNING"]
        assert running, f"no {action_type} action running on {self.serial}"
        self.set_action(running[0].actionId, v.ActionStatus.FINISHED)
        self.publish()

    def state(self) -> v.State:
        node = self.node
        ahead = self.nodes[self.index + 1 :]
        self.header_id += 1
        return v.State(
            headerId=self.header_id,
            timestamp=v.utc_timestamp(),
            manufacturer=self.manufacturer,
            serialNumber=self.serial,
            orderId=self.order_id,
            orderUpdateId=self.update_id,
            lastNodeId=node.nodeId,
            lastNodeSequenceId=node.sequenceId,
            nodeStates=[v.NodeState(nodeId=n.nodeId, sequenceId=n.sequenceId, released=n.released) for n in ahead],
            edgeStates=[
                v.EdgeState(edgeId=f"{a.nodeId}>{b.nodeId}", sequenceId=b.sequenceId - 1, released=b.released)
                for a, b in zip([node] + ahead, ahead)
            ],
            agvPosition=v.AgvPosition(
                x=node.nodePosition.x, y=node.nodePosition.y, theta=0.0, mapId=node.nodePosition.mapId
            ),
            actionStates=list(self.actions.values()),
            batteryState=v.BatteryState(batteryCharge=self.battery_pct, charging=False),
            errors=list(self.errors),
        )

    def publish(self) -> None:
        self.service.handle_vehicle(self.manufacturer, self.serial, "state", self.state())


# ----------------------------------------------------------------------------- fixtures & helpers
@pytest.fixture(scope="module")
def hall() -> Site:
    return load_site(DEMO_HALL)


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return KnowledgeBase.load(DEMO_HALL / "service_items.yaml")


class Fleet:
    def __init__(self, service: FleetService, link: FakeLink, store: SqlStore) -> None:
        self.service, self.link, self.store = service, link, store

    def robot(
        self,
        serial: str,
        home: str,
        *,
        kind: str = "delivery",
        battery_pct: float = 90.0,
        factsheet: dict[str, Any] | None = None,
        manufacturer: str = MAKER,
        online: bool = True,
    ) -> VehicleSim:
        """A robot as the fleet file declares it, that connected, sent its factsheet and a first state."""
        self.service.register_robot(serial, manufacturer, kind, home)
        if factsheet is None:
            factsheet = ha.build_factsheet(
                manufacturer, serial, kind if kind != "thirdparty" else "delivery", compartments=2
            )
        self.service.handle_vehicle(manufacturer, serial, "factsheet", v.Factsheet.from_dict(factsheet))
        self.connection(serial, v.ConnectionState.ONLINE, manufacturer)
        sim = VehicleSim(self.service, self.link, serial, home, battery_pct, manufacturer)
        sim.publish()
        if not online:
            self.connection(serial, v.ConnectionState.OFFLINE, manufacturer)
        return sim

    def connection(self, serial: str, state: v.ConnectionState, manufacturer: str = MAKER) -> None:
        self.service.handle_vehicle(
            manufacturer,
            serial,
            "connection",
            v.Connection(
                headerId=0,
                timestamp=v.utc_timestamp(),
                manufacturer=manufacturer,
                serialNumber=serial,
                connectionState=state,
            ),
        )

    def deliver(
        self,
        sender_place: str = "win-A01",
        recipient_place: str = "dept-hrss",
        priority: str = "normal",
        barcode: str = "DOC-1",
    ) -> tuple[str, str]:
        delivery, pin = self.service.create_delivery(
            Party(sender_place, "Clerk Wang"),
            Party(recipient_place, "Officer Li"),
            [Document(barcode, "Business licence application")],
            priority,
            "",
        )
        return delivery.id, pin

    def state_of(self, delivery_id: str) -> S:
        return self.store.get_delivery(delivery_id).state

    def elevator(
        self, level: int, door: str, held_by: str | None, moving: bool = False, elevator_id: str = "E2"
    ) -> None:
        self.service.handle_elevator(
            ev.ElevatorStatus(
                elevator_id=elevator_id,
                level=level,
                door=door,
                moving=moving,
                direction="none",
                held_by=held_by,
                timestamp=ev.utc_now_iso(),
            )
        )


@pytest.fixture
def fleet(tmp_path: Path, hall: Site, knowledge: KnowledgeBase):
    store = SqlStore(f"sqlite:///{tmp_path / 'fleet.db'}")
    link = FakeLink()
    yield Fleet(FleetService(hall, store, knowledge, link), link, store)
    store.close()


def run(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run one scenario on a fresh asyncio loop, bounded by a timeout."""

    async def bounded() -> Any:
        return await asyncio.wait_for(make(), TEST_TIMEOUT_S)

    return asyncio.run(bounded())


async def until(condition: Callable[[], Any], what: str, timeout_s: float = 5.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not (value := condition()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.01)
    return value


def released_end(order: v.Order) -> str:
    return [n.nodeId for n in order.nodes if n.released][-1]


def states_seen(store: SqlStore, delivery_id: str) -> list[str]:
    seen: list[str] = []
    for entry in store.get_delivery(delivery_id).history:
        if not seen or seen[-1] != entry.state.value:
            seen.append(entry.state.value)
    return seen


# ----------------------------------------------------------------------------- the cross-floor delivery
def test_cross_floor_delivery_from_window_to_level_3(fleet: Fleet, hall: Site) -> None:
    async def scenario() -> None:
        link, service = fleet.link, fleet.service
        dr1 = fleet.robot("dr1", "dock-1")
        delivery_id, sender_pin = fleet.deliver()
        assert re.fullmatch(r"\d{6}", sender_pin)
        assert fleet.state_of(delivery_id) == S.TO_PICKUP
        assert fleet.store.get_delivery(delivery_id).robot_id == "dr1"

        lobby = hall.place("lobby-E2-L1").waypoint_id
        car_l1 = "car-E2-L1"
        first = link.orders_for("dr1")[0]
        assert first.orderUpdateId == 0 and released_end(first) == lobby  # nothing released past the lobby
        assert hall.place("win-A01").waypoint_id in [n.nodeId for n in first.nodes if n.released]

        # to the window: the robot waits there with the load action running
        assert dr1.drive() == hall.place("win-A01").waypoint_id
        assert fleet.state_of(delivery_id) == S.AWAITING_LOAD
        assert link.elevator == []
        dr1.finish(ha.LOAD_DOCUMENTS)
        assert fleet.state_of(delivery_id) == S.LOADED
        notes = fleet.store.notifications_for("dept-hrss")
        assert len(notes) == 1 and re.search(r"\b\d{6}\b", notes[0].text_en), notes[0].text_en

        # to the lobby: the elevator is called to level 1
        assert dr1.drive() == lobby
        assert fleet.state_of(delivery_id) == S.IN_TRANSIT
        calls = [(e, r.command, r.level, r.robot_id) for e, r in link.elevator]
        assert calls == [("E2", "call", 1, "dr1")]

        # nothing is released while the car is elsewhere, the door is closed or it is held for someone else
        fleet.elevator(3, "open", "dr1")
        fleet.elevator(1, "closed", "dr1")
        fleet.elevator(1, "opening", "dr1")
        fleet.elevator(1, "open", None)
        fleet.elevator(1, "open", "dr7")
        fleet.elevator(1, "open", "dr1", moving=True)
        assert len(link.orders_for("dr1")) == 1
        assert dr1.drive() == lobby

        fleet.elevator(1, "open", "dr1")
        orders = link.orders_for("dr1")
        assert len(orders) == 2 and orders[1].orderUpdateId == 1 and released_end(orders[1]) == car_l1
        fleet.elevator(1, "open", "dr1")  # repeated status: no duplicate update
        assert len(link.orders_for("dr1")) == 2

        # in the car: called to level 3, released only when the car is there with the door open
        assert dr1.drive() == car_l1
        assert [(r.command, r.level) for _, r in link.elevator] == [("call", 1), ("call", 3)]
        fleet.elevator(1, "open", "dr1")
        fleet.elevator(2, "closed", "dr1", moving=True)
        fleet.elevator(3, "opening", "dr1")
        assert len(link.orders_for("dr1")) == 2
        fleet.elevator(3, "open", "dr1")
        orders = link.orders_for("dr1")
        assert len(orders) == 3 and orders[2].orderUpdateId == 2
        assert released_end(orders[2]) == hall.place("dept-hrss").waypoint_id
        assert all(n.released for n in orders[2].nodes)

        # out on level 3: the elevator is released once the robot is out, then on to the department
        assert dr1.drive() == hall.place("dept-hrss").waypoint_id
        assert [(r.command, r.level) for _, r in link.elevator] == [("call", 1), ("call", 3), ("release", None)]
        assert fleet.state_of(delivery_id) == S.AWAITING_RECIPIENT
        assert dr1.state().agvPosition.mapId == hall.map_id(3)

        dr1.finish(ha.UNLOAD_DOCUMENTS)
        assert fleet.state_of(delivery_id) == S.DELIVERED
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
        kinds = [e.kind for e in fleet.store.custody_for(delivery_id)]
        assert kinds == [
            "created",
            "assigned",
            "loaded",
            "departed",
            "elevator_boarded",
            "elevator_exited",
            "arrived",
            "delivered",
        ]
        assert fleet.store.verify_custody() == []

        # and home to its dock
        home = link.orders_for("dr1")[-1]
        assert home.orderId != first.orderId and home.orderUpdateId == 0
        assert home.nodes[0].nodeId == hall.place("dept-hrss").waypoint_id
        assert home.nodes[-1].nodeId == hall.place("dock-1").waypoint_id
        assert "dr1" in service.runs and service.runs["dr1"].delivery_id is None
        next_id, _ = fleet.deliver(barcode="DOC-NEXT")
        assert fleet.state_of(next_id) == S.REQUESTED  # dr1 is busy driving home

        # the way home rides the elevator down with the same rule; at the dock the robot is free again
        fleet.elevator(3, "closed", None)  # the controller let go of the car after "release"
        calls_before = len(link.elevator)
        assert dr1.drive() == hall.place("lobby-E2-L3").waypoint_id
        elevator_id, call = link.elevator[-1]
        assert (call.command, call.level) == ("call", 3) and len(link.elevator) == calls_before + 1
        fleet.elevator(3, "open", "dr1", elevator_id=elevator_id)
        dr1.drive()
        assert (link.elevator[-1][1].command, link.elevator[-1][1].level) == ("call", 1)
        fleet.elevator(1, "open", "dr1", elevator_id=elevator_id)
        # arriving at the dock frees dr1, which takes the delivery that was waiting
        dr1.drive(until_node=hall.place("dock-1").waypoint_id)
        assert [r.command for _, r in link.elevator[calls_before:]] == ["call", "call", "release"]
        assert "dr1" in service.runs and service.runs["dr1"].delivery_id == next_id
        assert fleet.state_of(next_id) == S.TO_PICKUP and fleet.store.get_delivery(next_id).robot_id == "dr1"

    run(scenario)


# ----------------------------------------------------------------------------- a lost link
def test_vehicle_back_from_a_lost_link_gets_the_update_it_missed_exactly_once(fleet: Fleet, hall: Site) -> None:
    dr1 = fleet.robot("dr1", "dock-1")
    delivery_id, _ = fleet.deliver()
    dr1.drive()
    dr1.finish(ha.LOAD_DOCUMENTS)
    lobby = hall.place("lobby-E2-L1").waypoint_id
    assert dr1.drive() == lobby

    dr1.lose_link()
    fleet.connection("dr1", v.ConnectionState.CONNECTIONBROKEN)  # the broker's last will
    assert fleet.service.robots["dr1"].online is False
    fleet.elevator(1, "open", "dr1")  # the car is there while dr1 hears nothing: update 1 is lost
    assert dr1.drive() == lobby, "without the update the robot waits at the end of its base"

    dr1.link_up = True
    requests_before = len(fleet.link.instant_for("dr1", "stateRequest"))
    fleet.connection("dr1", v.ConnectionState.ONLINE)
    assert len(fleet.link.instant_for("dr1", "stateRequest")) == requests_before + 1
    dr1.publish()  # its answer to the stateRequest: still on update 0
    dr1.publish()  # and a routine state after that: nothing more is resent
    order_id = fleet.link.orders_for("dr1")[0].orderId
    assert [o.orderUpdateId for o in fleet.link.orders_for("dr1") if o.orderId == order_id] == [0, 1, 1]
    assert dr1.drive() == "car-E2-L1"
    assert dr1.updates_applied == [(order_id, 0), (order_id, 1)]
    assert fleet.state_of(delivery_id) == S.IN_TRANSIT


def test_vehicle_that_got_everything_is_sent_nothing_again_after_a_reconnect(fleet: Fleet) -> None:
    dr1 = fleet.robot("dr1", "dock-1")
    fleet.deliver()
    dr1.drive()
    orders_before = len(fleet.link.orders_for("dr1"))
    fleet.connection("dr1", v.ConnectionState.CONNECTIONBROKEN)
    fleet.connection("dr1", v.ConnectionState.ONLINE)
    dr1.publish()
    assert len(fleet.link.orders_for("dr1")) == orders_before


def test_broker_reconnect_of_the_fleet_asks_every_vehicle_for_its_state(fleet: Fleet) -> None:
    fleet.robot("dr1", "dock-1")
    fleet.robot("gr1", "wait-A", kind="guidance")
    before = {r: len(fleet.link.instant_for(r, "stateRequest")) for r in ("dr1", "gr1")}
    fleet.service.resync()  # what the MQTT master calls on every (re)connect to the broker
    assert {r: len(fleet.link.instant_for(r, "stateRequest")) for r in ("dr1", "gr1")} == {
        r: n + 1 for r, n in before.items()
    }


# ----------------------------------------------------------------------------- other makes
def pick_drop_factsheet(manufacturer: str, serial: str) -> dict[str, Any]:
    """A plain VDA 5050 vehicle of another make: drives, picks and drops, nothing of ours."""
    sheet = ha.build_factsheet(manufacturer, serial, "delivery")
    sheet["protocolFeatures"]["agvActions"] = [
        {"actionType": t, "actionScopes": ["NODE"], "blockingTypes": ["HARD"]} for t in ("pick", "drop")
    ]
    return sheet


def test_same_floor_transfer_goes_to_another_make_by_pick_and_drop(fleet: Fleet, hall: Site) -> None:
    tp = fleet.robot(
        "tp1", "park-1", kind="thirdparty", manufacturer="OtherCo", factsheet=pick_drop_factsheet("OtherCo", "tp1")
    )
    delivery_id, _ = fleet.deliver(sender_place="win-A01", recipient_place="win-C01")
    assert fleet.store.get_delivery(delivery_id).robot_id == "tp1"
    order = fleet.link.orders_for("tp1")[0]
    actions = [
        (n.nodeId, a.actionType, {p.key: p.value for p in a.actionParameters}) for n in order.nodes for a in n.actions
    ]
    assert [(node, kind) for node, kind, _ in actions] == [
        (hall.place("win-A01").waypoint_id, "pick"),
        (hall.place("win-C01").waypoint_id, "drop"),
    ]
    assert all(params["loadId"] == delivery_id for _, _, params in actions)

    tp.drive()
    tp.finish("pick")
    assert fleet.state_of(delivery_id) == S.LOADED
    tp.drive()
    tp.finish("drop")
    assert fleet.state_of(delivery_id) == S.DELIVERED
    custody = fleet.store.custody_for(delivery_id)
    assert [(e.kind, e.actor) for e in custody if e.kind in ("loaded", "delivered")] == [
        ("loaded", "tp1"),
        ("delivered", "tp1"),
    ]
    assert fleet.store.verify_custody() == []


def test_cross_floor_work_never_goes_to_another_make(fleet: Fleet) -> None:
    fleet.robot(
        "tp1", "park-1", kind="thirdparty", manufacturer="OtherCo", factsheet=pick_drop_factsheet("OtherCo", "tp1")
    )
    delivery_id, _ = fleet.deliver(sender_place="win-A01", recipient_place="dept-hrss")  # level 3: the elevator
    assert fleet.state_of(delivery_id) == S.REQUESTED and fleet.link.orders_for("tp1") == []
    fleet.robot("dr1", "dock-1")
    assert fleet.store.get_delivery(delivery_id).robot_id == "dr1"


# ----------------------------------------------------------------------------- dispatch
def test_robot_without_load_documents_is_never_assigned(fleet: Fleet) -> None:
    no_load = ha.build_factsheet("OtherCo", "tp1", "guidance")  # speaks, cannot carry files
    fleet.robot("tp1", "dock-3", kind="delivery", factsheet=no_load, manufacturer="OtherCo")
    fleet.robot("tp2", "dock-2", kind="thirdparty", manufacturer="OtherCo")
    delivery_id, _ = fleet.deliver()
    assert fleet.state_of(delivery_id) == S.REQUESTED
    assert fleet.link.orders == []
    fleet.robot("dr1", "dock-1")
    assert fleet.state_of(delivery_id) == S.TO_PICKUP
    assert fleet.store.get_delivery(delivery_id).robot_id == "dr1"


def test_nearest_free_robot_is_chosen(fleet: Fleet) -> None:
    fleet.robot("dr1", "dock-1")
    fleet.robot("dr3", "dock-3")  # dock-3 is closer to window A01
    delivery_id, _ = fleet.deliver()
    assert fleet.store.get_delivery(delivery_id).robot_id == "dr3"


def test_low_battery_robot_is_not_chosen(fleet: Fleet) -> None:
    fleet.robot("dr1", "dock-1")
    fleet.robot("dr3", "dock-3", battery_pct=12.0)
    delivery_id, _ = fleet.deliver()
    assert fleet.store.get_delivery(delivery_id).robot_id == "dr1"
    assert fleet.link.orders_for("dr3") == []


def test_offline_robot_is_not_chosen(fleet: Fleet) -> None:
    fleet.robot("dr1", "dock-1")
    fleet.robot("dr3", "dock-3", online=False)
    delivery_id, _ = fleet.deliver()
    assert fleet.store.get_delivery(delivery_id).robot_id == "dr1"
    assert fleet.link.orders_for("dr3") == []


def test_robot_that_does_not_know_where_it_is_is_skipped(fleet: Fleet) -> None:
    lost = fleet.robot("dr3", "dock-3")
    lost.idle_node = v.Node(
        nodeId="", sequenceId=0, released=True, nodePosition=v.NodePosition(x=0.0, y=0.0, mapId="unknown-map")
    )
    lost.publish()
    fleet.robot("dr1", "dock-1")
    delivery_id, _ = fleet.deliver()
    assert fleet.store.get_delivery(delivery_id).robot_id == "dr1"


def test_two_deliveries_go_to_two_robots(fleet: Fleet) -> None:
    fleet.robot("dr1", "dock-1")
    fleet.robot("dr2", "dock-2")
    first, _ = fleet.deliver(barcode="DOC-1")
    second, _ = fleet.deliver(sender_place="win-A01", recipient_place="dept-hrss", barcode="DOC-2")
    robots = {fleet.store.get_delivery(d).robot_id for d in (first, second)}
    assert robots == {"dr1", "dr2"}
    assert {fleet.state_of(first), fleet.state_of(second)} == {S.TO_PICKUP}


def test_urgent_delivery_goes_first_when_one_robot_is_free(fleet: Fleet) -> None:
    normal, _ = fleet.deliver(barcode="DOC-N")
    urgent, _ = fleet.deliver(priority="urgent", barcode="DOC-U")
    fleet.robot("dr1", "dock-1")
    assert fleet.state_of(urgent) == S.TO_PICKUP and fleet.state_of(normal) == S.REQUESTED
    assert fleet.store.get_delivery(urgent).robot_id == "dr1"
    fleet.robot("dr2", "dock-2")
    assert fleet.store.get_delivery(normal).robot_id == "dr2"


# ----------------------------------------------------------------------------- cancel and rejection
def test_cancel_before_load_stops_the_robot(fleet: Fleet, hall: Site) -> None:
    dr1 = fleet.robot("dr1", "dock-1")
    delivery_id, _ = fleet.deliver()
    dr1.drive()
    assert fleet.state_of(delivery_id) == S.AWAITING_LOAD
    fleet.service.cancel_delivery(delivery_id, "Clerk Wang")
    assert fleet.state_of(delivery_id) == S.CANCELLED
    assert len(fleet.link.instant_for("dr1", "cancelOrder")) == 1
    assert [e.kind for e in fleet.store.custody_for(delivery_id)][-1] == "cancelled"
    home = fleet.link.orders_for("dr1")[-1]
    assert home.nodes[-1].nodeId == hall.place("dock-1").waypoint_id
    assert fleet.store.verify_custody() == []


def test_cancel_after_load_brings_the_files_back_to_the_sender(fleet: Fleet, hall: Site) -> None:
    dr1 = fleet.robot("dr1", "dock-1")
    delivery_id, _ = fleet.deliver()
    dr1.drive()
    dr1.finish(ha.LOAD_DOCUMENTS)
    assert fleet.state_of(delivery_id) == S.LOADED
    fleet.service.cancel_delivery(delivery_id, "Clerk Wang")
    delivery = fleet.store.get_delivery(delivery_id)
    assert delivery.state == S.RETURNING and not delivery.is_terminal, "returned only once the sender took them"
    assert len(fleet.link.instant_for("dr1", "cancelOrder")) == 1
    back = fleet.link.orders_for("dr1")[-1]
    assert [n.nodeId for n in back.nodes] == [hall.place("win-A01").waypoint_id]  # it is still at the window
    (unload,) = back.nodes[-1].actions
    assert unload.actionType == ha.UNLOAD_DOCUMENTS and unload.param("pinHash") == delivery.sender_pin_hash
    with pytest.raises(IllegalTransition, match="cannot go from returning to cancelled"):
        fleet.service.cancel_delivery(delivery_id, "Clerk Wang")


def test_rejected_order_puts_the_delivery_back_to_requested(fleet: Fleet) -> None:
    dr1 = fleet.robot("dr1", "dock-1")
    delivery_id, _ = fleet.deliver()
    order = fleet.link.orders_for("dr1")[0]
    dr1.orders_seen = 1  # the robot refuses it instead of taking it
    dr1.errors = [
        v.Error(
            errorType="orderError",
            errorLevel="WARNING",
            errorDescription="map floor9 unknown",
            errorReferences=[v.ErrorReference(referenceKey="orderId", referenceValue=order.orderId)],
        )
    ]
    dr1.publish()
    assert fleet.state_of(delivery_id) == S.REQUESTED
    assert fleet.store.get_delivery(delivery_id).robot_id is None
    assert "dr1" not in fleet.service.runs
    dr1.publish()  # the error stays in its states: the same robot is not handed the same order again
    assert fleet.state_of(delivery_id) == S.REQUESTED
    assert len(fleet.link.orders_for("dr1")) == 1
    later, _ = fleet.deliver(barcode="DOC-2")  # a later delivery still goes to dr1
    assert fleet.store.get_delivery(later).robot_id == "dr1"
    assert fleet.state_of(delivery_id) == S.REQUESTED
    fleet.robot("dr2", "dock-2")  # another robot takes the refused one
    assert fleet.store.get_delivery(delivery_id).robot_id == "dr2"


# ----------------------------------------------------------------------------- at the robot
def test_unlock_resolves_when_the_robot_reports_finished(fleet: Fleet) -> None:
    async def scenario() -> None:
        dr1 = fleet.robot("dr1", "dock-1")
        task = asyncio.create_task(fleet.service.unlock_compartment("dr1", 1, "123456", "Clerk Wang"))
        sent = await until(lambda: fleet.link.instant_for("dr1", ha.UNLOCK_COMPARTMENT), "unlock instant action")
        assert sent[0].param("pin") == "123456" and sent[0].param("compartmentId") == 1
        dr1.set_action(sent[0].actionId, v.ActionStatus.RUNNING)
        dr1.publish()
        await asyncio.sleep(0)
        assert not task.done()
        dr1.set_action(sent[0].actionId, v.ActionStatus.FINISHED, "opened")
        dr1.publish()
        assert await asyncio.wait_for(task, 5.0) == "opened"

    run(scenario)


def test_unlock_with_wrong_pin_is_403(fleet: Fleet) -> None:
    async def scenario() -> None:
        dr1 = fleet.robot("dr1", "dock-1")
        task = asyncio.create_task(fleet.service.unlock_compartment("dr1", 1, "000000", "Someone"))
        sent = await until(lambda: fleet.link.instant_for("dr1", ha.UNLOCK_COMPARTMENT), "unlock instant action")
        dr1.set_action(sent[0].actionId, v.ActionStatus.FAILED, "wrong PIN")
        dr1.publish()
        with pytest.raises(FleetError, match="wrong PIN") as caught:
            await asyncio.wait_for(task, 5.0)
        assert caught.value.status == 403

    run(scenario)


def test_close_compartment_waits_for_the_robot(fleet: Fleet) -> None:
    async def scenario() -> None:
        dr1 = fleet.robot("dr1", "dock-1")
        task = asyncio.create_task(fleet.service.close_compartment("dr1", 1, "Clerk Wang"))
        sent = await until(lambda: fleet.link.instant_for("dr1", ha.LOCK_COMPARTMENT), "lock instant action")
        dr1.set_action(sent[0].actionId, v.ActionStatus.FINISHED, "locked")
        dr1.publish()
        assert await asyncio.wait_for(task, 5.0) == "locked"

    run(scenario)


def test_ask_has_the_guidance_robot_speak_the_answer(fleet: Fleet) -> None:
    async def scenario() -> None:
        g1 = fleet.robot("g1", "dock-3", kind="guidance")
        task = asyncio.create_task(fleet.service.ask("我想办营业执照", "zh"))
        sent = await until(lambda: fleet.link.instant_for("g1", ha.SPEAK), "speak instant action")
        g1.set_action(sent[0].actionId, v.ActionStatus.FINISHED, "/tmp/answer.wav")
        g1.publish()
        answer, robot_id, wav = await asyncio.wait_for(task, 5.0)
        assert robot_id == "g1" and wav == "/tmp/answer.wav"
        assert "A" in answer.text and sent[0].param("text") == answer.text
        assert sent[0].param("language") == answer.language

    run(scenario)


# ----------------------------------------------------------------------------- safety: e-stop and charging
def publish_with(sim: VehicleSim, **updates: Any) -> None:
    """Publish the sim's state with some fields overridden (errors, safetyState, batteryState)."""
    sim.service.handle_vehicle(sim.manufacturer, sim.serial, "state", sim.state().model_copy(update=updates))


ESTOP_ERROR = v.Error(errorType="emergencyStop", errorLevel="FATAL", errorDescription="emergency stop by Tech Zhao")


def test_estop_keeps_the_files_with_the_robot_and_reset_lets_it_go_on(fleet: Fleet, hall: Site) -> None:
    async def scenario() -> None:
        service, link = fleet.service, fleet.link
        dr1 = fleet.robot("dr1", "dock-1")
        delivery_id, _ = fleet.deliver()
        dr1.drive()
        dr1.finish(ha.LOAD_DOCUMENTS)
        assert fleet.state_of(delivery_id) == S.LOADED

        task = asyncio.create_task(service.emergency_stop("dr1", "Tech Zhao"))
        sent = await until(lambda: link.instant_for("dr1", ha.EMERGENCY_STOP), "emergencyStop instant action")
        assert sent[0].param("person") == "Tech Zhao" and sent[0].blockingType == v.BlockingType.NONE
        await asyncio.sleep(0.05)
        assert not task.done(), "the answer waits for the robot"
        dr1.set_action(sent[0].actionId, v.ActionStatus.FINISHED)
        dr1.errors = [ESTOP_ERROR]
        publish_with(dr1, safetyState=v.SafetyState(eStop="REMOTE"))
        assert await asyncio.wait_for(task, 5.0) == "stopped"

        summary = service.robot_summary(service.robots["dr1"])
        assert summary["activity"] == "error" and summary["e_stop"] == "REMOTE"
        assert {"type": "emergencyStop", "level": "FATAL", "description": "emergency stop by Tech Zhao"} in summary[
            "errors"
        ]
        delivery = fleet.store.get_delivery(delivery_id)
        assert delivery.state == S.LOADED and delivery.robot_id == "dr1", "the files stay with dr1"
        last = fleet.store.custody_for(delivery_id)[-1]
        assert (last.kind, last.actor, last.robot_id) == ("emergency_stop", "Tech Zhao", "dr1")
        assert "dr1" in service.runs and fleet.store.verify_custody() == []

        task = asyncio.create_task(service.reset_emergency_stop("dr1", "Tech Zhao"))
        sent = await until(lambda: link.instant_for("dr1", ha.RESET_EMERGENCY_STOP), "resetEmergencyStop")
        dr1.set_action(sent[0].actionId, v.ActionStatus.FINISHED, "reset")
        dr1.errors = []
        dr1.publish()
        assert await asyncio.wait_for(task, 5.0) == "reset"
        assert fleet.store.custody_for(delivery_id)[-1].kind == "emergency_stop_reset"
        assert dr1.drive() == hall.place("lobby-E2-L1").waypoint_id  # on with the same trip
        assert fleet.state_of(delivery_id) == S.IN_TRANSIT

    run(scenario)


def test_robot_with_a_fatal_error_is_never_assigned(fleet: Fleet) -> None:
    dr1 = fleet.robot("dr1", "dock-1")
    dr1.errors = [ESTOP_ERROR]
    publish_with(dr1, safetyState=v.SafetyState(eStop="MANUAL"))
    delivery_id, _ = fleet.deliver()
    dr1.publish()
    assert fleet.state_of(delivery_id) == S.REQUESTED and fleet.link.orders_for("dr1") == []
    dr1.errors = []  # reset done at the robot
    dr1.publish()
    assert fleet.state_of(delivery_id) == S.TO_PICKUP and fleet.store.get_delivery(delivery_id).robot_id == "dr1"


def test_estop_of_an_unknown_robot_is_404(fleet: Fleet) -> None:
    async def scenario() -> None:
        with pytest.raises(FleetError, match="no robot") as caught:
            await fleet.service.emergency_stop("nobody", "Tech Zhao")
        assert caught.value.status == 404

    run(scenario)


def test_low_battery_robot_on_its_dock_charges_and_works_again_once_charged(fleet: Fleet) -> None:
    dr3 = fleet.robot("dr3", "dock-3", battery_pct=20.0)
    charge = fleet.link.instant_for("dr3", ha.START_CHARGING)
    assert len(charge) == 1 and fleet.link.orders_for("dr3") == []
    dr3.publish()
    assert len(fleet.link.instant_for("dr3", ha.START_CHARGING)) == 1, "sent once, not on every state"
    delivery_id, _ = fleet.deliver()
    for pct in (30.0, 59.0):
        publish_with(dr3, batteryState=v.BatteryState(batteryCharge=pct, charging=True))
        assert fleet.state_of(delivery_id) == S.REQUESTED, f"not assigned at {pct} %"
    assert fleet.service.robot_summary(fleet.service.robots["dr3"])["needs_charge"] is True
    publish_with(dr3, batteryState=v.BatteryState(batteryCharge=61.0, charging=True))
    assert fleet.state_of(delivery_id) == S.TO_PICKUP and fleet.store.get_delivery(delivery_id).robot_id == "dr3"


def test_low_battery_robot_away_from_home_drives_to_its_dock_to_charge(fleet: Fleet, hall: Site) -> None:
    dr1 = fleet.robot("dr1", "dock-1")
    away = hall.waypoint(hall.place("win-A01").waypoint_id)
    dr1.idle_node = v.Node(
        nodeId=away.id,
        sequenceId=0,
        released=True,
        nodePosition=v.NodePosition(x=away.x_m, y=away.y_m, mapId=hall.map_id(away.level)),
    )
    dr1.battery_pct = 22.0
    dr1.publish()
    orders = fleet.link.orders_for("dr1")
    assert len(orders) == 1 and orders[0].nodes[-1].nodeId == hall.place("dock-1").waypoint_id
    charge = [a for a in orders[0].nodes[-1].actions if a.actionType == ha.START_CHARGING]
    assert len(charge) == 1 and fleet.link.instant_for("dr1", ha.START_CHARGING) == []
    delivery_id, _ = fleet.deliver()
    assert fleet.state_of(delivery_id) == S.REQUESTED
    assert dr1.drive() == hall.place("dock-1").waypoint_id
    assert dr1.actions[charge[0].actionId].actionStatus == v.ActionStatus.RUNNING
    dr1.set_action(charge[0].actionId, v.ActionStatus.FINISHED, "charging")
    publish_with(dr1, batteryState=v.BatteryState(batteryCharge=23.0, charging=True))
    assert "dr1" not in fleet.service.runs and fleet.state_of(delivery_id) == S.REQUESTED
    assert fleet.link.instant_for("dr1", ha.START_CHARGING) == [], "no second charge request"
