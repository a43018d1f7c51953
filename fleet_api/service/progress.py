"""Following a trip from the robot's states: elevators, and each delivery on board step by step.

A trip may carry several deliveries (fleet_api/domain/batching.py), each in its own compartment
with its own load and hand-over node actions: every one moves through its own states, custody
events and notifications exactly as if it rode alone. Events of the whole trip (elevator boarded,
elevator exited) are logged for every delivery whose files are on board at that moment.
"""

from __future__ import annotations

import uuid

from fleet_api.domain import absence as ab
from fleet_api.domain import deliveries as dl
from fleet_api.domain.robots import RobotView
from fleet_api.domain.trips import Carried, HoldKind, TripRun
from fleet_api.service.core import FleetCore, S, log, utcnow
from hallfleet.protocol import elevator as ev

_STARTED = (
    "RUNNING",
    "INITIALIZING",
    "FINISHED",
)  # FINISHED too: after a restart the robot may report a step done meanwhile


class TripProgress(FleetCore):
    """Releases, elevator calls and every carried delivery's progress, on each vehicle state."""

    def _advance(self, robot: RobotView, run: TripRun) -> None:
        state, trip = robot.state, run.trip
        if state.orderId != trip.order_id:
            self._check_rejection(robot, run)
            return
        index = trip.node_index(state.lastNodeId, state.lastNodeSequenceId)
        if index is None:
            return
        self._handle_holds(robot, run, index)
        if run.replan_pending and not self._riding_elevator(robot, run):
            run.replan_pending = False
            self._replan(robot, run)
            return  # the re-planned trip replaced this run
        self._track_delivery(robot, run, index)
        trip_done = (
            index == len(trip.nodes) - 1
            and trip.finished_releasing
            and not state.nodeStates
            and all(
                a.actionStatus in ("FINISHED", "FAILED")
                for a in state.actionStates
                if a.actionId in {s.action.actionId for s in trip.stops}
            )
        )
        if trip_done and self.runs.get(robot.robot_id) is run:
            self._finish_run(robot, go_home=bool(run.carried))

    def _check_rejection(self, robot: RobotView, run: TripRun) -> None:
        """A refused order: deliveries not loaded yet go back to the scheduler (never to this robot)."""
        for error in robot.state.errors:
            refs = {r.referenceKey: r.referenceValue for r in error.errorReferences or []}
            if refs.get("orderId") == run.trip.order_id and "order" not in run.reported:
                run.reported.add("order")
                log.error("%s rejected order %s: %s", robot.robot_id, run.trip.order_id, error.errorDescription)
                for leg in run.carried:
                    self._rejected.add((leg.delivery_id, robot.robot_id))
                    delivery = self._delivery(leg.delivery_id)
                    if delivery.state in (S.ASSIGNED, S.TO_PICKUP):
                        self._move(
                            delivery, S.REQUESTED, f"{robot.robot_id} rejected the order: {error.errorDescription}"
                        )
                    else:
                        log.error(
                            "%s holds %s (%s) and refused its order: left for the technician",
                            robot.robot_id,
                            delivery.id,
                            delivery.state.value,
                        )
                self._finish_run(robot, go_home=False)

    def _handle_holds(self, robot: RobotView, run: TripRun, index: int) -> None:
        trip = run.trip
        for hold in trip.holds:
            elevator_id = hold.ride.elevator_id
            if hold.node_index == trip.released_to and index == hold.node_index:
                key = (elevator_id, hold.level)
                if key not in run.elevator_calls:
                    run.elevator_calls.add(key)
                    self.link.send_elevator_request(
                        elevator_id,
                        ev.ElevatorRequest(
                            request_id=uuid.uuid4().hex[:12], command="call", robot_id=robot.robot_id, level=hold.level
                        ),
                    )
                    log.info("%s waits for %s at level %d", robot.robot_id, elevator_id, hold.level)
                status = self.elevators.get(elevator_id)
                if (
                    status
                    and status.level == hold.level
                    and status.door == "open"
                    and status.held_by == robot.robot_id
                    and not status.moving
                ):
                    self._release(robot, run)
            exit_index = hold.node_index + 2
            if (
                hold.kind == HoldKind.CAR_AT_DESTINATION
                and index >= exit_index
                and f"exit-{hold.node_index}" not in run.reported
            ):
                run.reported.add(f"exit-{hold.node_index}")
                self.link.send_elevator_request(
                    elevator_id,
                    ev.ElevatorRequest(request_id=uuid.uuid4().hex[:12], command="release", robot_id=robot.robot_id),
                )
                self._delivery_custody(run, "elevator_exited", robot, detail=f"{elevator_id} at level {hold.level}")
            if (
                hold.kind == HoldKind.CAR_AT_DESTINATION
                and index >= hold.node_index
                and f"board-{hold.node_index}" not in run.reported
            ):
                run.reported.add(f"board-{hold.node_index}")
                self._delivery_custody(
                    run, "elevator_boarded", robot, detail=f"{elevator_id} from level {hold.ride.from_level}"
                )

    def _delivery_custody(self, run: TripRun, kind: str, robot: RobotView, detail: str = "") -> None:
        """A trip event for every delivery whose files are on board now."""
        for leg in run.carried:
            delivery = self._delivery(leg.delivery_id)
            if delivery.state in (S.LOADED, S.IN_TRANSIT, S.RETURNING):
                self._custody(kind, delivery, robot.robot_id, detail=detail)
                delivery.history.append(
                    dl.HistoryEntry(utcnow(), delivery.state, f"{kind.replace('_', ' ')}: {detail}")
                )
                self.store.save_delivery(delivery)
                self._emit_delivery(delivery)

    def _track_delivery(self, robot: RobotView, run: TripRun, index: int) -> None:
        for leg in list(run.carried):
            delivery = self._delivery(leg.delivery_id)
            if leg.returning:
                self._track_return(robot, run, leg, delivery)
            elif run.by_station:
                self._track_station_delivery(robot, leg, delivery, index)
            else:
                self._track_leg(robot, leg, delivery, index)

    def _track_leg(self, robot: RobotView, leg: Carried, delivery: dl.Delivery, index: int) -> None:
        load = robot.action_state(leg.load_action_id) if leg.load_action_id else None
        unload = robot.action_state(leg.unload_action_id) if leg.unload_action_id else None
        sender_place, compartment = delivery.sender.place_id, delivery.compartment_id
        if delivery.state == S.TO_PICKUP and load and load.actionStatus in _STARTED:
            self._move(
                delivery,
                S.AWAITING_LOAD,
                f"{robot.robot_id} waits at {sender_place}: open compartment {compartment} with the sender PIN",
            )
            if load.actionStatus != "FINISHED":
                self.store.add_notification(
                    sender_place,
                    delivery.id,
                    f"机器人 {robot.robot_id} 已到达，请输入装件密码，将文件 {delivery.id} 放入 {compartment} 号格口",
                    f"Robot {robot.robot_id} has arrived: load files {delivery.id} into compartment {compartment} "
                    f"with your PIN",
                    utcnow(),
                )
        if delivery.state == S.AWAITING_LOAD and load and load.actionStatus == "FINISHED":
            self._loaded(robot, delivery)
        if delivery.state == S.LOADED and leg.pickup_index is not None and index > leg.pickup_index:
            self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {sender_place}")
            self._custody("departed", delivery, robot.robot_id, place_id=sender_place)
        if delivery.state in (S.LOADED, S.IN_TRANSIT) and unload and unload.actionStatus in _STARTED:
            self._arrived(robot, delivery, waiting=unload.actionStatus != "FINISHED")
        if delivery.state == S.AWAITING_RECIPIENT and unload and unload.actionStatus == "FINISHED":
            taker = self._openers.get((robot.robot_id, compartment), delivery.recipient.person)
            self._move(delivery, S.DELIVERED, f"taken out by {taker} at {delivery.recipient.place_id}")
            self._custody("delivered", delivery, taker, place_id=delivery.recipient.place_id)

    def _loaded(self, robot: RobotView, delivery: dl.Delivery) -> None:
        """Files locked in: custody names who loaded them, the recipient gets the one-time PIN."""
        compartment = delivery.compartment_id
        opener = self._openers.get((robot.robot_id, compartment), delivery.sender.person)
        self._move(delivery, S.LOADED, f"loaded by {opener} into compartment {compartment} of {robot.robot_id}")
        self._custody(
            "loaded", delivery, opener, place_id=delivery.sender.place_id, detail=f"compartment {compartment} locked"
        )
        pin = self._recipient_pins.pop(delivery.id, None)
        if pin:
            self.store.add_notification(
                delivery.recipient.place_id,
                delivery.id,
                f"文件 {delivery.id} 已出发，取件一次性密码：{pin}",
                f"Files {delivery.id} are on their way; your one-time PIN: {pin}",
                utcnow(),
            )

    def _arrived(self, robot: RobotView, delivery: dl.Delivery, waiting: bool) -> None:
        if delivery.state == S.LOADED:
            self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {delivery.sender.place_id}")
        place = delivery.recipient.place_id
        self._move(
            delivery,
            S.AWAITING_RECIPIENT,
            f"{robot.robot_id} waits at {place} for the recipient (compartment {delivery.compartment_id})",
        )
        self._custody("arrived", delivery, robot.robot_id, place_id=place)
        if waiting:
            self._absences[delivery.id] = ab.start_watch(delivery.id, utcnow())
            self.store.add_notification(
                place,
                delivery.id,
                f"文件 {delivery.id} 已到达，请用一次性密码开 {delivery.compartment_id} 号格口取件",
                f"Files {delivery.id} have arrived: open compartment {delivery.compartment_id} with your one-time PIN",
                utcnow(),
            )

    def _track_station_delivery(self, robot: RobotView, leg: Carried, delivery: dl.Delivery, index: int) -> None:
        """A vehicle of another make: the sealed tote is picked at the sender's station and dropped at
        the recipient's; custody names the vehicle, the only one who handled it in between."""
        pick = robot.action_state(leg.load_action_id) if leg.load_action_id else None
        drop = robot.action_state(leg.unload_action_id) if leg.unload_action_id else None
        sender_place, recipient_place = delivery.sender.place_id, delivery.recipient.place_id
        if delivery.state == S.TO_PICKUP and pick and pick.actionStatus in _STARTED:
            self._move(delivery, S.AWAITING_LOAD, f"{robot.robot_id} picks the sealed tote up at {sender_place}")
        if delivery.state == S.AWAITING_LOAD and pick and pick.actionStatus == "FINISHED":
            self._move(delivery, S.LOADED, f"picked up by {robot.robot_id} at {sender_place}")
            self._custody("loaded", delivery, robot.robot_id, place_id=sender_place, detail="sealed tote picked")
            self.store.add_notification(
                recipient_place,
                delivery.id,
                f"文件 {delivery.id} 已出发，将放在本部门的收件点",
                f"Files {delivery.id} are on their way to your department's drop station",
                utcnow(),
            )
        if delivery.state == S.LOADED and leg.pickup_index is not None and index > leg.pickup_index:
            self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {sender_place}")
            self._custody("departed", delivery, robot.robot_id, place_id=sender_place)
        if delivery.state in (S.LOADED, S.IN_TRANSIT) and drop and drop.actionStatus in _STARTED:
            if delivery.state == S.LOADED:
                self._move(delivery, S.IN_TRANSIT, f"{robot.robot_id} left {sender_place}")
            self._move(delivery, S.AWAITING_RECIPIENT, f"{robot.robot_id} drops the tote at {recipient_place}")
            self._custody("arrived", delivery, robot.robot_id, place_id=recipient_place)
        if delivery.state == S.AWAITING_RECIPIENT and drop and drop.actionStatus == "FINISHED":
            self._move(delivery, S.DELIVERED, f"dropped by {robot.robot_id} at {recipient_place}")
            self._custody("delivered", delivery, robot.robot_id, place_id=recipient_place, detail="sealed tote dropped")
            self.store.add_notification(
                recipient_place,
                delivery.id,
                f"文件 {delivery.id} 已放到收件点，请取件",
                f"Files {delivery.id} are at your drop station: please collect them",
                utcnow(),
            )
