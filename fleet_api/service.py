"""The fleet service: where deliveries, robots, trips and elevators meet.

Runs on the asyncio loop's thread only (the MQTT adapter hands messages over thread-safely). It keeps
the decisions in the pure domain modules and does the bookkeeping: store writes, custody events,
notifications, messages to vehicles and elevators, and live events for the pages.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from fleet_api.domain import absence as ab
from fleet_api.domain import deliveries as dl
from fleet_api.domain import pin_attempts as pa
from fleet_api.domain import waiting as wt
from hallfleet.knowledge import Answer, KnowledgeBase
from fleet_api.domain.pins import generate_pin
from fleet_api.domain.robots import RobotView
from fleet_api.domain.trips import HoldKind, Trip, build_trip
from hallfleet.protocol import elevator as ev
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import NoRouteError, Route, nearest_waypoint, plan_route
from maps.site import Site, SiteError

log = logging.getLogger(__name__)
S = dl.DeliveryState
LOW_BATTERY_PCT = 25.0  # below this an idle robot goes to charge
CHARGED_PCT = 60.0  # a robot sent to charge takes deliveries again from here
VISIT_SPEAK_TIMEOUT_S = 30.0  # a greeting not confirmed by then is given up (wall seconds)
_OPEN_STATES = (S.ASSIGNED, S.TO_PICKUP, S.AWAITING_LOAD, S.LOADED, S.IN_TRANSIT, S.AWAITING_RECIPIENT, S.RETURNING)
TECHNICIAN_DESK = "technicians"  # notification "place" of the technicians' page (alerts)


class FleetLink(Protocol):
    """What the service needs from the MQTT side (a fake in unit tests)."""

    def send_order(self, manufacturer: str, serial: str, order: v.Order) -> v.Order: ...
    def send_instant_actions(self, manufacturer: str, serial: str, actions: list[v.Action]) -> v.InstantActions: ...
    def send_elevator_request(self, elevator_id: str, request: ev.ElevatorRequest) -> None: ...


class FleetError(Exception):
    """A request the fleet cannot carry out; ``status`` hints the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class TripRun:
    """A trip being carried out, with what it already reported (so every event happens once)."""

    trip: Trip
    delivery_id: str | None
    load_action_id: str | None = None
    unload_action_id: str | None = None
    pickup_index: int | None = None
    dest_index: int | None = None
    reported: set[str] = field(default_factory=set)
    elevator_calls: set[tuple[str, int]] = field(default_factory=set)
    last_order: v.Order | None = None  # the latest order (update) released, to resend after a lost link
    by_station: bool = False  # a vehicle of another make: VDA 5050 pick/drop at stations, no compartment PINs
    returning: bool = False  # the trip back to the sender (unload_action_id: the hand-back there)
    return_pending: bool = False  # turn back to the sender as soon as the robot is out of the elevator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def level_of_map(site: Site, map_id: str) -> int | None:
    """The floor level whose occupancy map is ``map_id`` (None for a map this site does not know)."""
    return next((f.level for f in site.floors if f.map_id == map_id), None)


def _known(lookup, key: str) -> bool:
    try:
        lookup(key)
        return True
    except SiteError:
        return False


class FleetService:
    def __init__(self, site: Site, store: Any, knowledge: KnowledgeBase, link: FleetLink | None = None) -> None:
        self.site, self.store, self.knowledge = site, store, knowledge
        self.link = link
        self.robots: dict[str, RobotView] = {}
        self.runs: dict[str, TripRun] = {}
        self.elevators: dict[str, ev.ElevatorStatus] = {}
        self._waiters: dict[tuple[str, str], asyncio.Future] = {}
        self._recipient_pins: dict[str, str] = {}
        self._openers: dict[tuple[str, int], str] = {}
        self._subscribers: set[asyncio.Queue] = set()
        self.homes: dict[str, str] = {}
        self._rejected: set[tuple[str, str]] = set()  # (delivery, robot): never offer it to that robot again
        self._charge_sent: dict[str, str] = {}  # robot -> startCharging actionId (once per low-battery episode)
        self.queue = wt.QueueBook()  # visitors who wait: in memory only (see fleet_api/domain/waiting.py)
        self.wait_rule = wt.WaitRule()
        self.absence_rule = ab.AbsenceRule()  # the app sets it from settings (recipient_wait_min, time_scale)
        self._absences: dict[str, ab.AbsenceWatch] = {}  # delivery -> its wait at the destination
        self._pins = pa.PinAttempts()

    # ------------------------------------------------------------ live events
    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=200)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            if queue.full():
                queue.get_nowait()  # a slow page loses the oldest update, never blocks the fleet
            queue.put_nowait({"kind": kind, "data": data})

    # ------------------------------------------------------------------ robots
    def register_robot(self, robot_id: str, manufacturer: str, kind: str, home_place_id: str | None = None) -> RobotView:
        """Vehicles join by configuration (fleet file); ``home_place_id`` is where it returns after work."""
        if home_place_id is not None:
            self.homes[robot_id] = home_place_id
        return self.robots.setdefault(robot_id, RobotView(robot_id, manufacturer, kind))

    def handle_vehicle(self, manufacturer: str, serial: str, kind: str, message: Any) -> None:
        robot = self.robots.get(serial)
        if robot is None or robot.manufacturer != manufacturer:
            if kind == "state":
                log.info("ignoring state of unknown vehicle %s/%s", manufacturer, serial)
            return
        if kind == "connection":
            was_online = robot.online
            robot.connection = message.connectionState
            robot.online = message.connectionState == v.ConnectionState.ONLINE
            log.info("%s is %s", serial, robot.connection)
            if robot.online and not was_online:
                self.resync([robot])
        elif kind == "factsheet":
            robot.action_types = message.action_types()
        elif kind == "state":
            robot.state = message
            robot.online = True
            self._resolve_waiters(robot)
            run = self.runs.get(serial)
            if run is not None and robot.resync_pending:
                self._reconcile(robot, run)
            robot.resync_pending = False
            if run is not None:
                self._advance(robot, run)
            self._track_visit(robot)
            self._check_battery(robot)
            self.dispatch()
        elif kind == "visualization" and robot.state is not None and message.agvPosition is not None:
            robot.state = robot.state.model_copy(update={"agvPosition": message.agvPosition})
        if self._subscribers:  # summaries only for open pages: telemetry is the fleet's hot path
            self._emit("robot", self.robot_summary(robot))

    def robot_summary(self, robot: RobotView) -> dict[str, Any]:
        state = robot.state
        pos = state.agvPosition if state else None
        return {
            "id": robot.robot_id,
            "kind": robot.kind,
            "manufacturer": robot.manufacturer,
            "online": robot.online,
            "connection": robot.connection,
            "activity": robot.activity(),
            "level": level_of_map(self.site, pos.mapId) if pos else None,
            "map_id": pos.mapId if pos else None,
            "x_m": round(pos.x, 2) if pos else None,
            "y_m": round(pos.y, 2) if pos else None,
            "battery_pct": robot.battery_pct,
            "charging": state.batteryState.charging if state else None,
            "last_node_id": state.lastNodeId if state else None,
            "order_id": state.orderId if state else None,
            "delivery_ids": list(robot.delivery_ids),
            "errors": [
                {"type": e.errorType, "level": e.errorLevel, "description": e.errorDescription or ""}
                for e in (state.errors if state else [])
            ],
            "loads": [ld.to_dict() for ld in (state.loads or [])] if state else [],
            "e_stop": robot.e_stop,
            "needs_charge": robot.needs_charge,
        }

    # -------------------------------------------------------------- deliveries
    def create_delivery(
        self, sender: dl.Party, recipient: dl.Party, documents: list[dl.Document], priority: str, note: str
    ) -> tuple[dl.Delivery, str]:
        """Validate and store a delivery; return it with the sender's PIN (shown once to the clerk)."""
        for party, role in ((sender, "sender"), (recipient, "recipient")):
            if not _known(self.site.place, party.place_id):
                raise FleetError(f"{role}.place_id: unknown place {party.place_id!r}", 422)
        now = utcnow()
        pin = generate_pin()
        delivery_id = dl.format_delivery_id(now.date(), self.store.next_delivery_number(now.date()))
        delivery = dl.new_delivery(delivery_id, sender, recipient, documents, priority, note, now, pin)  # type: ignore[arg-type]
        self.store.add_delivery(delivery)
        self._custody("created", delivery, sender.person, place_id=sender.place_id,
                      detail=f"{len(documents)} document(s): " + ", ".join(d.barcode for d in documents))
        self._emit_delivery(delivery)
        self.dispatch()
        return delivery, pin

    def cancel_delivery(self, delivery_id: str, person: str) -> dl.Delivery:
        """Before load: cancelled. After load: the robot brings the files back to the sender (still locked)."""
        delivery = self._delivery(delivery_id)
        if delivery.state in dl.CARRIED_STATES:
            return self.return_to_sender(delivery, person, f"cancelled by {person}")
        dl.transition(delivery, S.CANCELLED, utcnow(), f"cancelled by {person}")
        robot_id = delivery.robot_id
        self.store.save_delivery(delivery)
        self._custody("cancelled", delivery, person)
        if robot_id and robot_id in self.runs and self.runs[robot_id].delivery_id == delivery_id:
            robot = self.robots[robot_id]
            self.link.send_instant_actions(robot.manufacturer, robot_id, [self._action("cancelOrder", {})])
            self._finish_run(robot, go_home=True)
        self._emit_delivery(delivery)
        return delivery

    def _delivery(self, delivery_id: str) -> dl.Delivery:
        delivery = self.store.get_delivery(delivery_id)
        if delivery is None:
            raise FleetError(f"no delivery {delivery_id!r}", 404)
        return delivery

    def _emit_delivery(self, delivery: dl.Delivery) -> None:
        self._emit("delivery", {"id": delivery.id, "state": delivery.state.value, "robot_id": delivery.robot_id})

    def _custody(self, kind: str, delivery: dl.Delivery, actor: str, *, place_id: str | None = None, detail: str = "",
                 at: datetime | None = None) -> None:
        self.store.append_custody(
            kind=kind, delivery_id=delivery.id, actor=actor, robot_id=delivery.robot_id,
            compartment_id=delivery.compartment_id, place_id=place_id, detail=detail, at=at or utcnow(),
        )

    def _move(self, delivery: dl.Delivery, state: S, message: str) -> None:
        dl.transition(delivery, state, utcnow(), message)
        self.store.save_delivery(delivery)
        self._emit_delivery(delivery)

    # ---------------------------------------------------------------- dispatch
    def dispatch(self) -> None:
        """Give waiting deliveries (urgent first, then oldest) to the nearest free delivery robot."""
        if self.link is None:
            return
        if not any(r.is_free_for_delivery() and self._carries_files(r) for r in self.robots.values()):
            return  # runs on every robot state: no store query while no robot could take a delivery
        waiting = self.store.list_deliveries(states=[S.REQUESTED])
        waiting.sort(key=lambda d: (d.priority != "urgent", d.created_at))
        for delivery in waiting:
            free = [r for r in self.robots.values() if r.is_free_for_delivery() and self._can_carry(r, delivery)
                    and (delivery.id, r.robot_id) not in self._rejected]
            if not free:
                continue  # a later delivery may still suit a robot that refused this one
            pickup = self.site.place(delivery.sender.place_id).waypoint_id
            options: list[tuple[float, RobotView, Route]] = []
            for robot in free:
                start = self._robot_waypoint(robot)
                if start is None:
                    continue  # not localized on this site's maps: cannot be routed
                try:
                    route = plan_route(self.site, start, pickup)
                except NoRouteError:
                    continue
                options.append((route.estimated_time_s, robot, route))
            if not options:
                continue
            _, robot, to_pickup = min(options, key=lambda o: o[0])
            self._start_delivery_trip(robot, delivery, to_pickup)

    @staticmethod
    def _carries_files(robot: RobotView) -> bool:
        """Declares (factsheet) the actions a file transfer needs: ours lock files in compartments,
        other makes move a sealed tote between stations with VDA 5050 pick and drop."""
        if robot.kind == "thirdparty":
            return {ha.PICK, ha.DROP} <= robot.action_types
        return ha.LOAD_DOCUMENTS in robot.action_types

    def _can_carry(self, robot: RobotView, delivery: dl.Delivery) -> bool:
        if not self._carries_files(robot):
            return False
        if robot.kind != "thirdparty":
            return True
        sender, recipient = self.site.place(delivery.sender.place_id), self.site.place(delivery.recipient.place_id)
        return sender.level == recipient.level and level_of_map(self.site, robot.map_id or "") == sender.level

    def _robot_waypoint(self, robot: RobotView) -> str | None:
        """Where the robot is on the lane graph; None while it reports no position on this site's maps."""
        state = robot.state
        if state and state.lastNodeId and _known(self.site.waypoint, state.lastNodeId):
            return state.lastNodeId
        pos = state.agvPosition if state else None
        level = level_of_map(self.site, pos.mapId) if pos else None
        if level is None:
            return None
        return nearest_waypoint(self.site, level, pos.x, pos.y).id

    def _start_delivery_trip(self, robot: RobotView, delivery: dl.Delivery, to_pickup: Route) -> None:
        try:
            pickup = self.site.place(delivery.sender.place_id).waypoint_id
            dest = self.site.place(delivery.recipient.place_id).waypoint_id
            to_dest = plan_route(self.site, pickup, dest)
        except NoRouteError as exc:
            self._move(delivery, S.FAILED, f"no route: {exc}")
            return
        compartment = 1
        by_station = robot.kind == "thirdparty"
        if by_station:
            dl.assign(delivery, robot.robot_id, compartment, utcnow())
            load = self._action(ha.PICK, self._station_params(delivery, delivery.sender.place_id), v.BlockingType.HARD)
            unload = self._action(ha.DROP, self._station_params(delivery, delivery.recipient.place_id), v.BlockingType.HARD)
        else:
            recipient_pin = generate_pin()
            self._recipient_pins[delivery.id] = recipient_pin
            dl.set_recipient_pin(delivery, recipient_pin)
            dl.assign(delivery, robot.robot_id, compartment, utcnow())
            load = self._action(ha.LOAD_DOCUMENTS, {"deliveryId": delivery.id, "compartmentId": compartment,
                                                    "pinHash": delivery.sender_pin_hash}, v.BlockingType.HARD)
            unload = self._action(ha.UNLOAD_DOCUMENTS, {"deliveryId": delivery.id, "compartmentId": compartment,
                                                        "pinHash": delivery.recipient_pin_hash}, v.BlockingType.HARD)
        self.store.save_delivery(delivery)
        self._custody("assigned", delivery, "fleet", detail=f"robot {robot.robot_id} compartment {compartment}"
                      if not by_station else f"{robot.manufacturer} vehicle {robot.robot_id}, sealed tote by station")
        trip = build_trip(f"{delivery.id}-{uuid.uuid4().hex[:6]}", robot.robot_id, [to_pickup, to_dest], [load, unload])
        run = TripRun(trip, delivery.id, load.actionId, unload.actionId,
                      trip.stops[0].node_index, trip.stops[1].node_index, by_station=by_station)
        robot.delivery_ids = [delivery.id]
        self._begin(robot, run)
        self._move(delivery, S.TO_PICKUP, f"{robot.robot_id} is on its way to {delivery.sender.place_id}")

    @staticmethod
    def _station_params(delivery: dl.Delivery, place_id: str) -> dict[str, Any]:
        """VDA 5050 pick/drop parameters: the files travel in a sealed tote named after the delivery."""
        return {"stationType": "floor", "stationName": place_id, "loadType": "documentTote", "loadId": delivery.id}

    def _begin(self, robot: RobotView, run: TripRun) -> None:
        robot.trip_order_id = run.trip.order_id
        self.runs[robot.robot_id] = run
        self._release(robot, run)

    def _release(self, robot: RobotView, run: TripRun) -> None:
        order = run.trip.release_next()
        if order is not None:
            run.last_order = order
            sent = self.link.send_order(robot.manufacturer, robot.robot_id, order)
            log.info("%s: order %s update %d released to node %d/%d", robot.robot_id, sent.orderId,
                     sent.orderUpdateId, run.trip.released_to, len(run.trip.nodes) - 1)

    def _action(self, action_type: str, params: dict[str, Any], blocking: v.BlockingType = v.BlockingType.NONE) -> v.Action:
        return v.Action(
            actionType=action_type, actionId=f"{action_type}-{uuid.uuid4().hex[:10]}", blockingType=blocking,
            actionParameters=[v.ActionParameter(key=k, value=val) for k, val in params.items()],
        )

    # ------------------------------------------------------------ link resync
    def resync(self, robots: list[RobotView] | None = None) -> None:
        """Ask vehicles for their state (VDA 5050 stateRequest) after they, the broker or the fleet
        reconnected; the answer is reconciled with the trip they should be on (``_reconcile``)."""
        if self.link is None:
            return
        for robot in self.robots.values() if robots is None else robots:
            robot.resync_pending = True
            actions = [self._action("stateRequest", {})]
            if not robot.action_types:
                actions.append(self._action("factsheetRequest", {}))
            self.link.send_instant_actions(robot.manufacturer, robot.robot_id, actions)

    def _reconcile(self, robot: RobotView, run: TripRun) -> None:
        """Resend the latest released order when the vehicle missed it while the link was down.

        A resent update carries the orderUpdateId the vehicle may already have, which VDA 5050
        (6.6.2) tells it to ignore: nothing is ever duplicated, and nothing released is lost."""
        state, trip, order = robot.state, run.trip, run.last_order
        if order is None:
            return
        missed_update = state.orderId == trip.order_id and state.orderUpdateId < trip.update_id
        rejected = any(r.referenceKey == "orderId" and r.referenceValue == trip.order_id
                       for e in state.errors for r in e.errorReferences or [])
        missed_order = state.orderId != trip.order_id and trip.update_id == 0 and not state.nodeStates and not rejected
        if missed_update or missed_order:
            sent = self.link.send_order(robot.manufacturer, robot.robot_id, order)
            log.warning("%s missed order %s update %d while away: resent", robot.robot_id, sent.orderId,
                        sent.orderUpdateId)
        elif state.orderId != trip.order_id:
            log.error("%s reports order %r after reconnecting, not its trip %s: left for the technician",
                      robot.robot_id, state.orderId, trip.order_id)

    # -------------------------------------------------------------- progress
    def _advance(self, robot: RobotView, run: TripRun) -> None:
        state, trip = robot.state, run.trip
        if state.orderId != trip.order_id:
            self._check_rejection(robot, run)
            return
        index = trip.node_index(state.lastNodeId, state.lastNodeSequenceId)
        if index is None:
            return
        self._handle_holds(robot, run, index)
        if run.return_pending and not self._riding_elevator(robot, run):
            run.return_pending = False
            self._send_back(robot, self._delivery(run.delivery_id), run)
            return  # the trip back replaced this run
        if run.returning:
            self._track_return(robot, run, self._delivery(run.delivery_id))
        else:
            self._track_delivery(robot, run, index)
        trip_done = index == len(trip.nodes) - 1 and trip.finished_releasing and not state.nodeStates and all(
            a.actionStatus in ("FINISHED", "FAILED") for a in state.actionStates
            if a.actionId in {s.action.actionId for s in trip.stops}
        )
        if trip_done:
            self._finish_run(robot, go_home=run.delivery_id is not None)

    def _check_rejection(self, robot: RobotView, run: TripRun) -> None:
        for error in robot.state.errors:
            refs = {r.referenceKey: r.referenceValue for r in error.errorReferences or []}
            if refs.get("orderId") == run.trip.order_id and "order" not in run.reported:
                run.reported.add("order")
                log.error("%s rejected order %s: %s", robot.robot_id, run.trip.order_id, error.errorDescription)
                if run.delivery_id:
                    self._rejected.add((run.delivery_id, robot.robot_id))
                    delivery = self._delivery(run.delivery_id)
                    self._move(delivery, S.REQUESTED, f"{robot.robot_id} rejected the order: {error.errorDescription}")
                self._finish_run(robot, go_home=False)

    def _handle_holds(self, robot: RobotView, run: TripRun, index: int) -> None:
        trip = run.trip
        for hold in trip.holds:
            elevator_id = hold.ride.elevator_id
            if hold.node_index == trip.released_to and index == hold.node_index:
                key = (elevator_id, hold.level)
                if key not in run.elevator_calls:
                    run.elevator_calls.add(key)
                    self.link.send_elevator_request(elevator_id, ev.ElevatorRequest(
                        request_id=uuid.uuid4().hex[:12], command="call", robot_id=robot.robot_id, level=hold.level))
                    log.info("%s waits for %s at level %d", robot.robot_id, elevator_id, hold.level)
                status = self.elevators.get(elevator_id)
                if status and status.level == hold.level and status.door == "open" and status.held_by == robot.robot_id \
                        and not status.moving:
                    self._release(robot, run)
            exit_index = hold.node_index + 2
            if hold.kind == HoldKind.CAR_AT_DESTINATION and index >= exit_index and f"exit-{hold.node_index}" not in run.reported:
                run.reported.add(f"exit-{hold.node_index}")
                self.link.send_elevator_request(elevator_id, ev.ElevatorRequest(
                    request_id=uuid.uuid4().hex[:12], command="release", robot_id=robot.robot_id))
                self._delivery_custody(run, "elevator_exited", robot, detail=f"{elevator_id} at level {hold.level}")
            if hold.kind == HoldKind.CAR_AT_DESTINATION and index >= hold.node_index and f"board-{hold.node_index}" not in run.reported:
                run.reported.add(f"board-{hold.node_index}")
                self._delivery_custody(run, "elevator_boarded", robot, detail=f"{elevator_id} from level {hold.ride.from_level}")

    def _delivery_custody(self, run: TripRun, kind: str, robot: RobotView, detail: str = "") -> None:
        if run.delivery_id is None:
            return
        delivery = self._delivery(run.delivery_id)
        if delivery.state in (S.LOADED, S.IN_TRANSIT, S.RETURNING):
            self._custody(kind, delivery, robot.robot_id, detail=detail)
            delivery.history.append(dl.HistoryEntry(utcnow(), delivery.state, f"{kind.replace('_', ' ')}: {detail}"))
            self.store.save_delivery(delivery)
            self._emit_delivery(delivery)

    def _track_delivery(self, robot: RobotView, run: TripRun, index: int) -> None:
        if run.delivery_id is None:
            return
        delivery = self._delivery(run.delivery_id)
        load = robot.action_state(run.load_action_id)
        unload = robot.action_state(run.unload_action_id)
        sender_place = delivery.sender.place_id
        if run.by_station:
            self._track_station_delivery(robot, run, delivery, index)
            return
        if delivery.state == S.TO_PICKUP and load and load.actionStatus in ("RUNNING", "INITIALIZING"):
            self._move(delivery, S.AWAITING_LOAD, f"{robot.robot_id} waits at {sender_place}: open compartment "
                                                  f"{delivery.compartment_id} with the sender PIN")
            self.store.add_notification(sender_place, delivery.id, f"机器人 {robot.robot_id} 已到达，请输入装件密码放入文件",
                                        f"Robot {robot.robot_id} has arrived: load the files with your PIN", utcnow())
        if delivery.state == S.AWAITING_LOAD and load and load.actionStatus == "FINISHED":
            opener = self._openers.get((robot.robot_id, delivery.compartment_id), delivery.sender.person)
            self._move(delivery, S.LOADED, f"loaded by {opener} into compartment {delivery.compartment_id} of {robot.robot_id}")
            self._custody("loaded", delivery, opener, place_id=sender_place,
                          detail=f"compartment {delivery.compartment_id} locked")
            pin = self._recipient_pins.pop(delivery.id, None)
            if pin:
                self.store.add_notification(
                    delivery.recipient.place_id, delivery.id,
                    f"文件 {delivery.id} 已出发，取件一次性密码：{pin}",
                    f"Files {delivery.id} are on their way; your one-time PIN: {pin}", utcnow())
        if delivery.state == S.LOADED and run.pickup_index is not None and index > run.pickup_index:
            self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {sender_place}")
            self._custody("departed", delivery, robot.robot_id, place_id=sender_place)
        if delivery.state in (S.LOADED, S.IN_TRANSIT) and unload and unload.actionStatus in ("RUNNING", "INITIALIZING"):
            if delivery.state == S.LOADED:
                self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {sender_place}")
            place = delivery.recipient.place_id
            self._move(delivery, S.AWAITING_RECIPIENT, f"{robot.robot_id} waits at {place} for the recipient")
            self._custody("arrived", delivery, robot.robot_id, place_id=place)
            self._absences[delivery.id] = ab.start_watch(delivery.id, utcnow())
            self.store.add_notification(place, delivery.id, f"文件 {delivery.id} 已到达，请用一次性密码开格口取件",
                                        f"Files {delivery.id} have arrived: open with your one-time PIN", utcnow())
        if delivery.state == S.AWAITING_RECIPIENT and unload and unload.actionStatus == "FINISHED":
            taker = self._openers.get((robot.robot_id, delivery.compartment_id), delivery.recipient.person)
            self._move(delivery, S.DELIVERED, f"taken out by {taker} at {delivery.recipient.place_id}")
            self._custody("delivered", delivery, taker, place_id=delivery.recipient.place_id)

    def _track_station_delivery(self, robot: RobotView, run: TripRun, delivery: dl.Delivery, index: int) -> None:
        """A vehicle of another make: the sealed tote is picked at the sender's station and dropped at
        the recipient's; custody names the vehicle, the only one who handled it in between."""
        pick, drop = robot.action_state(run.load_action_id), robot.action_state(run.unload_action_id)
        sender_place, recipient_place = delivery.sender.place_id, delivery.recipient.place_id
        if delivery.state == S.TO_PICKUP and pick and pick.actionStatus in ("RUNNING", "INITIALIZING", "FINISHED"):
            self._move(delivery, S.AWAITING_LOAD, f"{robot.robot_id} picks the sealed tote up at {sender_place}")
        if delivery.state == S.AWAITING_LOAD and pick and pick.actionStatus == "FINISHED":
            self._move(delivery, S.LOADED, f"picked up by {robot.robot_id} at {sender_place}")
            self._custody("loaded", delivery, robot.robot_id, place_id=sender_place, detail="sealed tote picked")
            self.store.add_notification(recipient_place, delivery.id, f"文件 {delivery.id} 已出发，将放在本部门的收件点",
                                        f"Files {delivery.id} are on their way to your department's drop station",
                                        utcnow())
        if delivery.state == S.LOADED and run.pickup_index is not None and index > run.pickup_index:
            self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {sender_place}")
            self._custody("departed", delivery, robot.robot_id, place_id=sender_place)
        if delivery.state in (S.LOADED, S.IN_TRANSIT) and drop and drop.actionStatus in ("RUNNING", "INITIALIZING", "FINISHED"):
            if delivery.state == S.LOADED:
                self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {sender_place}")
            self._move(delivery, S.AWAITING_RECIPIENT, f"{robot.robot_id} drops the tote at {recipient_place}")
            self._custody("arrived", delivery, robot.robot_id, place_id=recipient_place)
        if delivery.state == S.AWAITING_RECIPIENT and drop and drop.actionStatus == "FINISHED":
            self._move(delivery, S.DELIVERED, f"dropped by {robot.robot_id} at {recipient_place}")
            self._custody("delivered", delivery, robot.robot_id, place_id=recipient_place, detail="sealed tote dropped")
            self.store.add_notification(recipient_place, delivery.id, f"文件 {delivery.id} 已放到收件点，请取件",
                                        f"Files {delivery.id} are at your drop station: please collect them", utcnow())

    def _finish_run(self, robot: RobotView, go_home: bool) -> None:
        self.runs.pop(robot.robot_id, None)
        robot.trip_order_id = None
        robot.delivery_ids = []
        if go_home:
            self.send_home(robot)

    def send_home(self, robot: RobotView) -> None:
        """Drive back to the robot's home place (dock or parking) with a trip of no actions."""
        home = self.homes.get(robot.robot_id)
        if home is None:
            return
        start = self._robot_waypoint(robot)
        if start is None:
            log.error("%s cannot go home: its position is not on this site's maps", robot.robot_id)
            return
        try:
            route = plan_route(self.site, start, self.site.place(home).waypoint_id)
        except NoRouteError as exc:
            log.error("%s cannot go home: %s", robot.robot_id, exc)
            return
        if route.distance_m < 0.01:
            return
        trip = build_trip(f"home-{robot.robot_id}-{uuid.uuid4().hex[:6]}", robot.robot_id, [route], [None])
        self._begin(robot, TripRun(trip, None))

    # ----------------------------------------------------------------- battery
    def _check_battery(self, robot: RobotView) -> None:
        """An idle robot low on battery and carrying no files goes to a charging dock and charges there."""
        if not robot.update_charge_need(LOW_BATTERY_PCT, CHARGED_PCT):
            self._charge_sent.pop(robot.robot_id, None)
            return
        state = robot.state
        if state is None or state.batteryState.charging:
            return
        if (robot.robot_id in self._charge_sent or robot.delivery_ids or robot.robot_id in self.runs
                or robot.fatal or not robot.online or ha.START_CHARGING not in robot.action_types or self.link is None):
            return  # a trip in progress ends at home first; files are delivered first
        start = self._robot_waypoint(robot)
        if start is None:
            return
        options: list[tuple[float, Route]] = []
        for dock in self._docks_for(robot):
            try:
                route = plan_route(self.site, start, dock)
            except NoRouteError:
                continue
            options.append((route.estimated_time_s, route))
        if not options:
            log.error("%s is low on battery (%.0f%%) but no charging dock can be reached", robot.robot_id,
                      robot.battery_pct or 0.0)
            self._charge_sent[robot.robot_id] = ""
            return
        route = min(options, key=lambda o: o[0])[1]
        charge = self._action(ha.START_CHARGING, {}, v.BlockingType.HARD)
        self._charge_sent[robot.robot_id] = charge.actionId
        log.info("%s battery %.0f%%: sent to charge at %s", robot.robot_id, robot.battery_pct or 0.0,
                 route.waypoint_ids[-1])
        if route.distance_m < 0.01:  # already on the dock
            self.link.send_instant_actions(robot.manufacturer, robot.robot_id,
                                           [charge.model_copy(update={"blockingType": v.BlockingType.NONE})])
            return
        trip = build_trip(f"charge-{robot.robot_id}-{uuid.uuid4().hex[:6]}", robot.robot_id, [route], [charge])
        self._begin(robot, TripRun(trip, None))

    def _docks_for(self, robot: RobotView) -> list[str]:
        """Waypoints of the robot's home dock, or of every charging dock when its home is not one."""
        home = self.homes.get(robot.robot_id)
        if home is not None and _known(self.site.place, home) and self.site.place(home).kind == "charging_dock":
            return [self.site.place(home).waypoint_id]
        return [p.waypoint_id for p in self.site.places if p.kind == "charging_dock"]

    # ------------------------------------------------------------------ safety
    async def emergency_stop(self, robot_id: str, person: str) -> str:
        """Technician's e-stop: the robot stops and reports FATAL; its files stay with it (custody says so)."""
        return await self._safety_action(robot_id, person, ha.EMERGENCY_STOP, "emergency_stop",
                                         f"{robot_id} stopped by emergency stop", "stopped")

    async def reset_emergency_stop(self, robot_id: str, person: str) -> str:
        """Explicit reset after an e-stop (the fleet's or the robot's own button); the robot resumes its order."""
        return await self._safety_action(robot_id, person, ha.RESET_EMERGENCY_STOP, "emergency_stop_reset",
                                         f"{robot_id} released from emergency stop", "reset")

    async def _safety_action(self, robot_id: str, person: str, action_type: str, custody_kind: str,
                             detail: str, done: str) -> str:
        robot = self._robot(robot_id, action_type)
        result = await self._run_instant(robot, self._action(action_type, {"person": person}))
        log.warning("%s: %s by %s", robot_id, custody_kind.replace("_", " "), person)
        self._safety_custody(robot, custody_kind, person, detail)
        return result or done

    def _safety_custody(self, robot: RobotView, kind: str, person: str, detail: str) -> None:
        for delivery_id in robot.delivery_ids:
            delivery = self.store.get_delivery(delivery_id)
            if delivery is None or delivery.state not in _OPEN_STATES:
                continue
            self._custody(kind, delivery, person, detail=detail)
            delivery.history.append(dl.HistoryEntry(utcnow(), delivery.state, detail))
            self.store.save_delivery(delivery)
            self._emit_delivery(delivery)

    # -------------------------------------------------------------- elevators
    def handle_elevator(self, status: ev.ElevatorStatus) -> None:
        self.elevators[status.elevator_id] = status
        if status.held_by and status.held_by in self.runs and self.robots.get(status.held_by):
            robot = self.robots[status.held_by]
            if robot.state is not None:
                self._advance(robot, self.runs[status.held_by])
        self._emit("elevator", status.to_dict())

    # ------------------------------------------------------- at the robot
    async def unlock_compartment(self, robot_id: str, compartment_id: int, pin: str, person: str) -> str:
        """Relay a PIN typed at the robot's screen; the robot checks it against the hash it holds.
        Every refusal is a custody event; the block after five wrong PINs alerts the technicians."""
        robot = self._robot(robot_id, ha.UNLOCK_COMPARTMENT)
        self._refuse_on_the_way_back(robot, compartment_id, person)
        action = self._action(ha.UNLOCK_COMPARTMENT, {"compartmentId": compartment_id, "pin": pin, "person": person})
        try:
            result = await self._run_instant(robot, action)
        except FleetError as exc:
            if exc.status == 403:  # the robot refused the PIN (wrong, or the compartment is blocked)
                self._pin_refused(robot, compartment_id, person, str(exc))
            raise
        self._pins.opened(robot_id, compartment_id)
        self._openers[(robot_id, compartment_id)] = person
        delivery = self._delivery_in(robot_id, compartment_id)
        if delivery is not None and delivery.state == S.AWAITING_RECIPIENT:
            self._custody("unlocked_by_recipient", delivery, person, place_id=delivery.recipient.place_id)
        elif delivery is not None and delivery.state == S.RETURNING:
            self._custody("unlocked_by_sender", delivery, person, place_id=delivery.sender.place_id)
        return result

    async def close_compartment(self, robot_id: str, compartment_id: int, person: str) -> str:
        robot = self._robot(robot_id, ha.LOCK_COMPARTMENT)
        delivery = self._delivery_in(robot_id, compartment_id)
        occupied = delivery is not None and delivery.state == S.AWAITING_LOAD
        action = self._action(ha.LOCK_COMPARTMENT, {"compartmentId": compartment_id, "occupied": occupied, "person": person})
        return await self._run_instant(robot, action)

    def _delivery_in(self, robot_id: str, compartment_id: int) -> dl.Delivery | None:
        run = self.runs.get(robot_id)
        if run is None or run.delivery_id is None:
            return None
        delivery = self._delivery(run.delivery_id)
        return delivery if delivery.compartment_id == compartment_id else None

    def _robot(self, robot_id: str, action_type: str) -> RobotView:
        robot = self.robots.get(robot_id)
        if robot is None:
            raise FleetError(f"no robot {robot_id!r}", 404)
        if not robot.online:
            raise FleetError(f"robot {robot_id} is offline", 409)
        if action_type not in robot.action_types:
            raise FleetError(f"robot {robot_id} does not declare action {action_type} in its factsheet", 409)
        return robot

    async def _run_instant(self, robot: RobotView, action: v.Action, timeout_s: float = 10.0) -> str:
        future = asyncio.get_running_loop().create_future()
        self._waiters[(robot.robot_id, action.actionId)] = future
        self.link.send_instant_actions(robot.manufacturer, robot.robot_id, [action])
        try:
            status, result = await asyncio.wait_for(future, timeout_s)
        except asyncio.TimeoutError:
            raise FleetError(f"robot {robot.robot_id} did not answer {action.actionType} within {timeout_s:.0f} s", 504) from None
        finally:
            self._waiters.pop((robot.robot_id, action.actionId), None)
        if status == "FAILED":
            raise FleetError(result or f"{action.actionType} failed", 403 if "PIN" in (result or "") else 409)
        return result or ""

    def _resolve_waiters(self, robot: RobotView) -> None:
        for (robot_id, action_id), future in list(self._waiters.items()):
            if robot_id != robot.robot_id or future.done():
                continue
            state = robot.action_state(action_id)
            if state and state.actionStatus in ("FINISHED", "FAILED"):
                future.set_result((state.actionStatus, state.resultDescription))

    # ------------------------------------------------------------- guidance
    async def ask(self, question: str, language: str, robot_id: str | None = None,
                  context_item: str | None = None) -> tuple[Answer, str | None, str | None]:
        """Answer from the knowledge base and have a guidance robot say it: (answer, robot, wav or None).

        The visitor gets the written answer even when no guidance robot can speak it. ``context_item``
        is the service the conversation is about, so a follow-up ("那要带什么材料？") is answered about it.
        """
        answer = self.knowledge.answer(question, language, context_item=context_item)
        speakers = [r for r in self.robots.values()
                    if r.kind == "guidance" and r.online and ha.SPEAK in r.action_types
                    and (robot_id is None or r.robot_id == robot_id)]
        if not speakers:
            log.warning("no guidance robot online to speak the answer to %r", question)
            return answer, None, None
        robot = speakers[0]
        action = self._action(ha.SPEAK, {"text": answer.text, "language": answer.language})
        try:
            wav_path = await self._run_instant(robot, action, timeout_s=30.0)
        except FleetError as exc:
            log.error("%s could not speak: %s", robot.robot_id, exc)
            return answer, robot.robot_id, None
        return answer, robot.robot_id, wav_path or None

    # ------------------------------------------------------- visitors who wait
    async def watch_waiting(self, period_s: float = 1.0) -> None:
        """Runs for the app's lifetime: waiting (visitors, robots at a destination) crosses its limit
        with time, not with an event."""
        while True:
            await asyncio.sleep(period_s)
            for check in (self.check_waits, self.check_absences):
                try:
                    check()
                except Exception:  # one bad tick must not end the watch
                    log.exception("%s failed", check.__name__)

    def queue_event(self, number: str, event: wt.TicketEvent, at: datetime, *, service: str = "",
                    zone_id: str = "", language: str = "zh-CN") -> wt.Applied:
        """One event of the queue-ticket system; a visit still on its way is called off when the ticket is called."""
        if zone_id:
            self._waiting_zone(zone_id)
        applied = self.queue.apply(number, event, at, service=service, zone_id=zone_id, language=language)
        if applied.cancel is not None:
            self._cancel_visit(applied.cancel, f"ticket {number} was {event.value} before the robot arrived")
        if applied.outcome in (wt.Outcome.CREATED, wt.Outcome.UPDATED):
            self._emit("queue", {"ticket": number, "event": event.value, "zone": applied.ticket.zone_id})
            self.check_waits()
        return applied

    def _waiting_zone(self, zone_id: str):
        try:
            place = self.site.place(zone_id)
        except SiteError:
            raise FleetError(f"zone: unknown waiting zone {zone_id!r}", 400) from None
        if place.kind != "waiting_zone":
            raise FleetError(f"zone: {zone_id!r} is a {place.kind}, not a waiting zone", 400)
        return place

    def check_waits(self, now: datetime | None = None) -> None:
        """Send the nearest free guidance robot to each ticket over the limit; give up on silent
        greetings; bring robots that are done back home."""
        if self.link is None:
            return
        now = now or utcnow()
        for visit in self.queue.visits():
            if visit.state == wt.VisitState.GREETING and (now - visit.arrived_at).total_seconds() > VISIT_SPEAK_TIMEOUT_S:
                self._end_visit(visit, wt.VisitState.FAILED, f"{visit.robot_id} did not confirm the greeting", now)
        due = self.queue.due(now, self.wait_rule.limit_min, self.wait_rule.time_scale)
        if due:
            starts = {r.robot_id: self._robot_waypoint(r) for r in self.robots.values() if self._free_for_visit(r)}
            routes: dict[tuple[str, str], Route | None] = {}

            def route_to(robot_id: str, zone_id: str) -> Route | None:
                if (robot_id, zone_id) not in routes:
                    try:
                        routes[robot_id, zone_id] = plan_route(self.site, starts[robot_id],
                                                               self.site.place(zone_id).waypoint_id)
                    except NoRouteError:
                        routes[robot_id, zone_id] = None
                return routes[robot_id, zone_id]

            free = [robot_id for robot_id, start in starts.items() if start is not None]
            for ticket, robot_id in wt.assign(due, free, lambda r, z: getattr(route_to(r, z), "distance_m", None)):
                self._start_visit(self.robots[robot_id], ticket, route_to(robot_id, ticket.zone_id), now)
        self._send_guides_home(now)

    def _free_for_visit(self, robot: RobotView) -> bool:
        """A guidance robot that is online, well, can speak and is on no trip or visit."""
        return (robot.kind == "guidance" and robot.online and robot.state is not None and not robot.fatal
                and robot.e_stop == "NONE" and not robot.needs_charge and ha.SPEAK in robot.action_types
                and robot.robot_id not in self.runs and robot.trip_order_id is None
                and self.queue.active_visit(robot.robot_id) is None)

    def _start_visit(self, robot: RobotView, ticket: wt.Ticket, route: Route, now: datetime) -> None:
        visit = self.queue.start_visit(ticket, robot.robot_id, f"visit-{uuid.uuid4().hex[:8]}", now)
        log.info("%s goes to ticket %s in %s (%.0f m)", robot.robot_id, ticket.number, ticket.zone_id, route.distance_m)
        if route.distance_m < 0.01:  # already there
            self._emit("visit", visit.to_dict())
            self._greet(robot, visit, now)
            return
        trip = build_trip(f"visit-{ticket.number}-{uuid.uuid4().hex[:6]}", robot.robot_id, [route], [None])
        visit.order_id = trip.order_id
        self._begin(robot, TripRun(trip, None))
        self._emit("visit", visit.to_dict())

    def _track_visit(self, robot: RobotView) -> None:
        """On each state: a visit's robot arrived (greet), stopped short (failed) or finished speaking."""
        visit = self.queue.active_visit(robot.robot_id)
        if visit is None:
            return
        state, now = robot.state, utcnow()
        if visit.state == wt.VisitState.EN_ROUTE:
            run = self.runs.get(robot.robot_id)
            if run is not None and run.trip.order_id == visit.order_id:
                return  # still on its way
            if state.lastNodeId == self.site.place(visit.zone_id).waypoint_id and not state.nodeStates:
                self._greet(robot, visit, now)
            else:
                self._end_visit(visit, wt.VisitState.FAILED, f"{robot.robot_id} stopped before {visit.zone_id}", now)
        elif visit.state == wt.VisitState.GREETING and visit.speak_action_id:
            spoken = robot.action_state(visit.speak_action_id)
            if spoken and spoken.actionStatus == "FINISHED":
                visit.wav_path = spoken.resultDescription or None
                self._end_visit(visit, wt.VisitState.GREETED, "", now)
            elif spoken and spoken.actionStatus == "FAILED":
                self._end_visit(visit, wt.VisitState.FAILED, f"speech failed: {spoken.resultDescription}", now)

    def _greet(self, robot: RobotView, visit: wt.Visit, now: datetime) -> None:
        """Arrived: say the ticket number and how long its holder has waited (counted now, not at dispatch)."""
        visit.arrived_at = now
        ticket = self.queue.ticket_of(visit)
        if ticket is None or ticket.status != wt.TicketStatus.WAITING:
            self._end_visit(visit, wt.VisitState.CANCELLED, "ticket was called before the greeting", now)
            return
        minutes = int(wt.waited_min(ticket.issued_at, now, self.wait_rule.time_scale))
        action = self._action(ha.SPEAK, {"text": wt.greeting(ticket.number, minutes, visit.language),
                                         "language": visit.language})
        visit.state, visit.speak_action_id, visit.waited_min = wt.VisitState.GREETING, action.actionId, minutes
        self.link.send_instant_actions(robot.manufacturer, robot.robot_id, [action])
        self._emit("visit", visit.to_dict())

    def _cancel_visit(self, visit: wt.Visit, reason: str) -> None:
        """Stop the robot; it goes straight on to another ticket over the limit, or home."""
        now = utcnow()
        self._end_visit(visit, wt.VisitState.CANCELLED, reason, now)
        visit.home_sent = True
        robot, run = self.robots.get(visit.robot_id), self.runs.get(visit.robot_id)
        if robot is None or run is None or run.trip.order_id != visit.order_id:
            return
        self.link.send_instant_actions(robot.manufacturer, robot.robot_id, [self._action("cancelOrder", {})])
        self._finish_run(robot, go_home=False)
        self.check_waits(now)
        if self.queue.active_visit(robot.robot_id) is None:
            self.send_home(robot)

    def _end_visit(self, visit: wt.Visit, state: wt.VisitState, note: str, now: datetime) -> None:
        wt.end_visit(visit, state, now, note)
        (log.warning if state == wt.VisitState.FAILED else log.info)(
            "visit %s of %s to ticket %s: %s %s", visit.visit_id, visit.robot_id, visit.ticket, state.value, note)
        self._emit("visit", visit.to_dict())

    def _send_guides_home(self, now: datetime) -> None:
        """A robot whose last visit ended stays to help for ``stay_min`` hall minutes, then goes home."""
        latest: dict[str, wt.Visit] = {}
        for visit in self.queue.visits():  # newest first
            latest.setdefault(visit.robot_id, visit)
        for robot_id, visit in latest.items():
            robot = self.robots.get(robot_id)
            if visit.home_sent or visit.state.active or robot is None or not self._free_for_visit(robot):
                continue
            if wt.waited_min(visit.ended_at, now, self.wait_rule.time_scale) >= self.wait_rule.stay_min:
                visit.home_sent = True
                self.send_home(robot)

    # ================================================================================================
    # Return to sender, absent recipients, wrong PINs (issue 6 items 1-3)
    #
    # After load the files leave the robot only at the destination or back at the sender. A cancel,
    # or a recipient who never comes, turns the robot back: the running order is cancelled and a new
    # one drives to the sender, where an unloadDocuments armed with the *sender's* PIN hash waits.
    # Until the robot gets there its compartment holds no hand-over the fleet will relay a PIN for.
    # ================================================================================================
    def return_to_sender(self, delivery: dl.Delivery, actor: str, reason: str) -> dl.Delivery:
        """Turn the robot that holds ``delivery`` back to the sender; the delivery is ``returning``
        until the sender has taken the files out with their PIN."""
        robot, run = self._carrier(delivery)
        self._move(delivery, S.RETURNING, f"returning to {delivery.sender.place_id}: {reason}")
        self._custody("returning", delivery, actor, place_id=self._place_at(robot), detail=reason)
        self._absences.pop(delivery.id, None)
        self.store.add_notification(
            delivery.sender.place_id, delivery.id,
            f"文件 {delivery.id} 正在退回（{reason}），机器人到达后请用寄件密码取回",
            f"Files {delivery.id} are coming back to you ({reason}): take them out with your sender PIN", utcnow())
        if self._riding_elevator(robot, run):
            run.return_pending = True  # turning back inside the car would strand the elevator
            log.info("%s turns back to %s once out of the elevator", robot.robot_id, delivery.sender.place_id)
        else:
            self._send_back(robot, delivery, run)
        return delivery

    def _carrier(self, delivery: dl.Delivery) -> tuple[RobotView, TripRun]:
        """The online robot on a trip with ``delivery``; FleetError 409 naming why it cannot be reached."""
        robot = self.robots.get(delivery.robot_id or "")
        run = self.runs.get(delivery.robot_id or "")
        if robot is None or run is None or run.delivery_id != delivery.id:
            raise FleetError(f"delivery {delivery.id}: robot {delivery.robot_id} is not on a trip with it "
                             f"(fleet restarted?); a technician must bring the files back", 409)
        if not robot.online:
            raise FleetError(f"delivery {delivery.id}: robot {robot.robot_id} is offline and cannot be turned back now", 409)
        return robot, run

    def _riding_elevator(self, robot: RobotView, run: TripRun) -> bool:
        """Released into an elevator car and not yet out on the far floor."""
        state, trip = robot.state, run.trip
        index = trip.node_index(state.lastNodeId, state.lastNodeSequenceId) if state and state.orderId == trip.order_id else None
        if index is None:
            return False
        return any(hold.kind == HoldKind.CAR_AT_DESTINATION and trip.released_to >= hold.node_index
                   and hold.node_index - 1 <= index < hold.node_index + 2 for hold in trip.holds)

    def _send_back(self, robot: RobotView, delivery: dl.Delivery, run: TripRun) -> None:
        self._let_go_of_elevators(robot, run)
        start, sender = self._robot_waypoint(robot), self.site.place(delivery.sender.place_id)
        try:
            if start is None:
                raise NoRouteError(f"{robot.robot_id} reports no position on this site's maps")
            route = plan_route(self.site, start, sender.waypoint_id)
        except NoRouteError as exc:
            self._alert(robot, delivery.compartment_id, delivery, self._place_at(robot),
                        f"机器人 {robot.robot_id} 无法返回 {sender.id}（{exc}），文件仍锁在格口内，请技术人员处理",
                        f"{robot.robot_id} cannot drive back to {sender.id} ({exc}); the files stay locked in it")
            return
        if run.by_station:
            back = self._action(ha.DROP, self._station_params(delivery, sender.id), v.BlockingType.HARD)
        else:
            back = self._action(ha.UNLOAD_DOCUMENTS, {"deliveryId": delivery.id, "compartmentId": delivery.compartment_id,
                                                      "pinHash": delivery.sender_pin_hash}, v.BlockingType.HARD)
        self._replace_run(robot, delivery, route, back, "back", returning=True, by_station=run.by_station)

    def _replace_run(self, robot: RobotView, delivery: dl.Delivery, route: Route, action: v.Action, tag: str,
                     *, returning: bool, by_station: bool = False) -> None:
        """Cancel the robot's order and give it a new one ending in ``action`` (VDA 5050: an order
        cannot be re-routed, only cancelled and replaced)."""
        self.link.send_instant_actions(robot.manufacturer, robot.robot_id, [self._action("cancelOrder", {})])
        trip = build_trip(f"{delivery.id}-{tag}-{uuid.uuid4().hex[:6]}", robot.robot_id, [route], [action])
        run = TripRun(trip, delivery.id, None, action.actionId, None, trip.stops[0].node_index,
                      by_station=by_station, returning=returning)
        robot.delivery_ids = [delivery.id]
        self._begin(robot, run)

    def _let_go_of_elevators(self, robot: RobotView, run: TripRun) -> None:
        """Release every elevator this run called and did not leave yet (the robot will not ride it)."""
        for hold in run.trip.holds:
            called = (hold.ride.elevator_id, hold.level) in run.elevator_calls
            if hold.kind == HoldKind.CAR_AT_BOARDING and called and f"exit-{hold.node_index + 1}" not in run.reported:
                self.link.send_elevator_request(hold.ride.elevator_id, ev.ElevatorRequest(
                    request_id=uuid.uuid4().hex[:12], command="release", robot_id=robot.robot_id))

    def _track_return(self, robot: RobotView, run: TripRun, delivery: dl.Delivery) -> None:
        back = robot.action_state(run.unload_action_id)
        if delivery.state != S.RETURNING or back is None:
            return
        place = delivery.sender.place_id
        if back.actionStatus in ("RUNNING", "INITIALIZING", "FINISHED") and "back" not in run.reported:
            run.reported.add("back")
            self._custody("arrived", delivery, robot.robot_id, place_id=place, detail="back at the sender")
            self._note(delivery, f"{robot.robot_id} is back at {place}: the sender opens compartment "
                                 f"{delivery.compartment_id} with the sender PIN")
            self.store.add_notification(place, delivery.id, f"文件 {delivery.id} 已退回到达，请用寄件密码开格口取回",
                                        f"Files {delivery.id} are back: open the compartment with your sender PIN", utcnow())
        if back.actionStatus == "FINISHED":
            taker = robot.robot_id if run.by_station else \
                self._openers.get((robot.robot_id, delivery.compartment_id), delivery.sender.person)
            self._move(delivery, S.RETURNED_TO_SENDER, f"taken back by {taker} at {place}")
            self._custody("returned", delivery, taker, place_id=place)
        elif back.actionStatus == "FAILED" and "back-failed" not in run.reported:
            run.reported.add("back-failed")
            self._alert(robot, delivery.compartment_id, delivery, place,
                        f"机器人 {robot.robot_id} 在 {place} 无法交还文件 {delivery.id}：{back.resultDescription or ''}",
                        f"{robot.robot_id} could not hand files {delivery.id} back at {place}: {back.resultDescription or ''}")

    def _note(self, delivery: dl.Delivery, message: str, at: datetime | None = None) -> None:
        """A history line without a state change (the clerk's "my deliveries" shows it)."""
        delivery.history.append(dl.HistoryEntry(at or utcnow(), delivery.state, message))
        self.store.save_delivery(delivery)
        self._emit_delivery(delivery)

    # ----------------------------------------------------- absent recipient
    def check_absences(self, now: datetime | None = None) -> None:
        """Robots waiting at a destination: notify the recipient again after one wait, bring the
        files back to the sender after the second (or the alternate's) wait."""
        now = now or utcnow()
        for run in list(self.runs.values()):
            if run.delivery_id is None or run.returning or run.by_station:
                continue
            delivery = self.store.get_delivery(run.delivery_id)
            watch = self._absence_watch(delivery) if delivery and delivery.state == S.AWAITING_RECIPIENT else None
            step = ab.due_step(watch, now, self.absence_rule) if watch else None
            if step is ab.Step.RENOTIFY:
                self._renotify(delivery, watch, now)
            elif step is ab.Step.RETURN:
                self._give_up_waiting(delivery, watch, now)

    def _absence_watch(self, delivery: dl.Delivery) -> ab.AbsenceWatch | None:
        """The delivery's wait; rebuilt from its custody events when the fleet manager restarted."""
        if delivery.id not in self._absences:
            facts = [(e.kind, e.at, delivery.alternate_person or "") for e in self.store.custody_for(delivery.id)]
            watch = ab.watch_from_events(delivery.id, facts)
            if watch is None:
                return None
            self._absences[delivery.id] = watch
        return self._absences[delivery.id]

    def _renotify(self, delivery: dl.Delivery, watch: ab.AbsenceWatch, now: datetime) -> None:
        wait_min, place, person = self.absence_rule.wait_min, delivery.recipient.place_id, delivery.recipient.person
        self._custody("recipient_absent", delivery, "fleet", place_id=place,
                      detail=f"nobody took the files within {wait_min:g} min", at=now)
        self.store.add_notification(
            place, delivery.id,
            f"文件 {delivery.id} 仍在机器人 {delivery.robot_id} 上等待 {person} 用一次性密码取件；本人不在可由部门指定代收人",
            f"Files {delivery.id} still wait on robot {delivery.robot_id} for {person} and the one-time PIN; "
            f"if {person} is away, the department may name an alternate recipient", now)
        self._custody("renotified", delivery, "fleet", place_id=place,
                      detail=f"{person} notified again; the robot waits another {wait_min:g} min", at=now)
        ab.apply_step(watch, ab.Step.RENOTIFY, now)
        self._note(delivery, f"nobody came within {wait_min:g} min: {person} notified again", now)

    def _give_up_waiting(self, delivery: dl.Delivery, watch: ab.AbsenceWatch, now: datetime) -> None:
        who = watch.alternate or delivery.recipient.person
        self._custody("recipient_absent", delivery, "fleet", place_id=delivery.recipient.place_id,
                      detail=f"{who} did not come within {self.absence_rule.wait_min:g} min", at=now)
        try:
            self.return_to_sender(delivery, "fleet", f"nobody took the files at {delivery.recipient.place_id}")
        except FleetError as exc:  # e.g. robot offline: it keeps the files; tried again on the next tick
            log.warning("%s", exc)
            return
        ab.apply_step(watch, ab.Step.RETURN, now)

    def name_alternate(self, delivery_id: str, person: str, by: str) -> tuple[dl.Delivery, str]:
        """A clerk names another person of the recipient's department: a new one-time PIN, the old
        one no longer opens the compartment. Returns the delivery and the new PIN (shown once)."""
        delivery = self._delivery(delivery_id)
        if not person.strip() or not by.strip():
            raise FleetError("alternate: person and by must both be given", 422)
        if delivery.state != S.AWAITING_RECIPIENT:
            raise FleetError(f"delivery {delivery.id} is {delivery.state.value}: an alternate recipient can be named "
                             f"only while the robot waits at the destination", 409)
        robot, run = self._carrier(delivery)
        if run.by_station:
            raise FleetError(f"delivery {delivery.id} is dropped at a station: no PIN to replace", 409)
        watch = self._absence_watch(delivery) or ab.start_watch(delivery.id, utcnow())
        now = utcnow()
        try:
            ab.name_alternate(watch, person, now)
        except ab.AbsenceError as exc:
            raise FleetError(str(exc), 409) from None
        self._absences[delivery.id] = watch
        pin = self._rearm_for_alternate(robot, delivery, person)
        self._custody("alternate_named", delivery, by, place_id=delivery.recipient.place_id, at=now,
                      detail=f"{person} receives instead of {delivery.recipient.person}; "
                             f"a new one-time PIN replaces the previous one")
        self.store.add_notification(
            delivery.recipient.place_id, delivery.id,
            f"{person}：文件 {delivery.id} 由您代收，一次性取件密码：{pin}（原密码已失效）",
            f"{person}: you receive files {delivery.id} instead; one-time PIN: {pin} (the previous PIN no longer works)", now)
        self._note(delivery, f"{by} named {person} to receive instead of {delivery.recipient.person}", now)
        return delivery, pin

    def _rearm_for_alternate(self, robot: RobotView, delivery: dl.Delivery, person: str) -> str:
        """New PIN: its hash replaces the old one in the robot's waiting unloadDocuments (a one-node order)."""
        pin = generate_pin()
        dl.set_recipient_pin(delivery, pin)
        delivery.alternate_person = person
        self.store.save_delivery(delivery)
        here = self.site.place(delivery.recipient.place_id).waypoint_id
        unload = self._action(ha.UNLOAD_DOCUMENTS, {"deliveryId": delivery.id, "compartmentId": delivery.compartment_id,
                                                    "pinHash": delivery.recipient_pin_hash}, v.BlockingType.HARD)
        self._replace_run(robot, delivery, plan_route(self.site, here, here), unload, "alt", returning=False)
        return pin

    # ------------------------------------------------------------ PINs and alerts
    def _refuse_on_the_way_back(self, robot: RobotView, compartment_id: int, person: str) -> None:
        """Files on their way back open only at the sender's place: the fleet relays no PIN before."""
        delivery, run = self._delivery_in(robot.robot_id, compartment_id), self.runs.get(robot.robot_id)
        if delivery is None or run is None or delivery.state != S.RETURNING:
            return
        back = robot.action_state(run.unload_action_id) if run.returning else None
        if back is not None and back.actionStatus in ("RUNNING", "INITIALIZING"):
            return
        self._robot_custody("unlock_refused", robot, compartment_id, person, delivery,
                            f"files are returning: compartment {compartment_id} opens only at {delivery.sender.place_id}")
        raise FleetError(f"compartment {compartment_id} of {robot.robot_id} holds files on their way back to "
                         f"{delivery.sender.place_id}; it opens only there", 409)

    def _pin_refused(self, robot: RobotView, compartment_id: int, person: str, message: str) -> None:
        delivery = self._delivery_in(robot.robot_id, compartment_id)
        if pa.classify(message) is not pa.Refusal.WRONG_PIN:
            self._robot_custody("unlock_refused", robot, compartment_id, person, delivery, message)
            return
        wrong = self._pins.wrong(robot.robot_id, compartment_id, robot_says_blocked=pa.says_now_blocked(message))
        self._robot_custody("wrong_pin", robot, compartment_id, person, delivery,
                            f"wrong PIN {wrong.in_a_row} in a row: {message}")
        if wrong.alert:
            place = self._place_at(robot) or "?"
            self._alert(robot, compartment_id, delivery, place,
                        f"机器人 {robot.robot_id} 第 {compartment_id} 号格口在 {place} 连续 {wrong.in_a_row} 次密码错误，"
                        f"已锁定，请技术人员到场处理",
                        f"{robot.robot_id} compartment {compartment_id} at {place}: {wrong.in_a_row} wrong PINs in a row, "
                        f"blocked; a technician must clear it")

    def _robot_custody(self, kind: str, robot: RobotView, compartment_id: int | None, actor: str,
                       delivery: dl.Delivery | None, detail: str) -> None:
        """A custody event at a robot's compartment, with or without a delivery in it."""
        self.store.append_custody(kind=kind, delivery_id=delivery.id if delivery else None, actor=actor,
                                  robot_id=robot.robot_id, compartment_id=compartment_id,
                                  place_id=self._place_at(robot), detail=detail, at=utcnow())

    def _alert(self, robot: RobotView, compartment_id: int | None, delivery: dl.Delivery | None, place_id: str | None,
               text_zh: str, text_en: str) -> None:
        """Technicians must act: a notification for their page, a live event and a custody "alert"."""
        now = utcnow()
        log.error("ALERT: %s", text_en)
        note = self.store.add_notification(TECHNICIAN_DESK, delivery.id if delivery else None, text_zh, text_en, now)
        self._robot_custody("alert", robot, compartment_id, "fleet", delivery, text_en)
        self._emit("alert", {"id": note.id, "robot_id": robot.robot_id, "compartment_id": compartment_id,
                             "place_id": place_id, "delivery_id": delivery.id if delivery else None,
                             "at": now.isoformat(), "text_zh": text_zh, "text_en": text_en})

    def _place_at(self, robot: RobotView) -> str | None:
        """The named place the robot stands at, else its waypoint (None when not localized)."""
        waypoint = self._robot_waypoint(robot)
        return next((p.id for p in self.site.places if p.waypoint_id == waypoint), waypoint)
