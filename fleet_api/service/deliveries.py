"""Delivery work: from a clerk's request through dispatch and the trip to the files handed over.

Our robots lock files in compartments opened by PIN; vehicles of other makes carry a sealed tote
between stations with VDA 5050 pick and drop. Every step is a state change, a custody event and,
where a person must act, a notification.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fleet_api.domain import absence as ab
from fleet_api.domain import deliveries as dl
from fleet_api.domain.pins import generate_pin
from fleet_api.domain.robots import RobotView
from fleet_api.domain.trips import HoldKind, build_trip
from hallfleet.protocol import elevator as ev
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import NoRouteError, Route, plan_route

from fleet_api.service.core import (
    FleetCore, FleetError, S, TripRun, _known, level_of_map, log,
    utcnow,
)


class DeliveryWork(FleetCore):
    """Deliveries: create, cancel, dispatch, follow the trip, open compartments."""

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
        # FINISHED too: after a fleet manager restart the robot may report a step it completed meanwhile.
        if delivery.state == S.TO_PICKUP and load and load.actionStatus in ("RUNNING", "INITIALIZING", "FINISHED"):
            self._move(delivery, S.AWAITING_LOAD, f"{robot.robot_id} waits at {sender_place}: open compartment "
                                                  f"{delivery.compartment_id} with the sender PIN")
            if load.actionStatus != "FINISHED":
                self.store.add_notification(
                    sender_place, delivery.id, f"机器人 {robot.robot_id} 已到达，请输入装件密码放入文件",
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
        arrived = unload is not None and unload.actionStatus in ("RUNNING", "INITIALIZING", "FINISHED")
        if delivery.state in (S.LOADED, S.IN_TRANSIT) and arrived:
            if delivery.state == S.LOADED:
                self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {sender_place}")
            place = delivery.recipient.place_id
            self._move(delivery, S.AWAITING_RECIPIENT, f"{robot.robot_id} waits at {place} for the recipient")
            self._custody("arrived", delivery, robot.robot_id, place_id=place)
            if unload.actionStatus != "FINISHED":
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
        self._persist_run(robot)  # "loaded by" names them even if the fleet restarts before the load ends
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
