"""Delivery work: from a clerk's request through dispatch and the trip to the files handed over.

Our robots lock files in compartments opened by PIN, one delivery per compartment, and may carry
several deliveries on one trip when their routes fit (fleet_api/domain/batching.py); vehicles of
other makes carry a sealed tote between stations with VDA 5050 pick and drop. Every step is a state
change, a custody event and, where a person must act, a notification. Following the trip is in
progress.py, building and re-planning its stops in trip_plans.py.
"""

from __future__ import annotations

from datetime import datetime

from fleet_api.domain import batching as bt
from fleet_api.domain import deliveries as dl
from fleet_api.domain.pins import generate_pin
from fleet_api.domain.robots import RobotView
from fleet_api.service.core import FleetCore, FleetError, S, _known, level_of_map, utcnow
from fleet_api.service.trip_plans import PlannedStop
from hallfleet.protocol import hall_actions as ha
from maps.planner import NoRouteError, Route, plan_route


class DeliveryWork(FleetCore):
    """Deliveries: create, cancel, dispatch (with batching), open compartments."""

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
        self._deliveries_waiting = True
        self._custody(
            "created",
            delivery,
            sender.person,
            place_id=sender.place_id,
            detail=f"{len(documents)} document(s): " + ", ".join(d.barcode for d in documents),
        )
        self._emit_delivery(delivery)
        self.dispatch()
        return delivery, pin

    def cancel_delivery(self, delivery_id: str, person: str) -> dl.Delivery:
        """Before load: cancelled, and the robot's trip drops this delivery's stops: a robot with
        nothing else to do goes home, one carrying other files re-plans over their stops and passes
        this sender by (trip_plans.py). After load: the files come back to the sender still locked,
        after the other files on board are delivered (returns.py)."""
        delivery = self._delivery(delivery_id)
        if delivery.state in dl.CARRIED_STATES:
            return self.return_to_sender(delivery, person, f"cancelled by {person}")
        dl.transition(delivery, S.CANCELLED, utcnow(), f"cancelled by {person}")
        robot_id = delivery.robot_id
        self.store.save_delivery(delivery)
        self._custody("cancelled", delivery, person)
        run = self.runs.get(robot_id or "")
        if run is not None and run.leg(delivery_id) is not None:
            self._replan_when_out_of_the_car(self.robots[robot_id], run)
        self._emit_delivery(delivery)
        return delivery

    def _delivery(self, delivery_id: str) -> dl.Delivery:
        delivery = self.store.get_delivery(delivery_id)
        if delivery is None:
            raise FleetError(f"no delivery {delivery_id!r}", 404)
        return delivery

    def _emit_delivery(self, delivery: dl.Delivery) -> None:
        self._emit("delivery", {"id": delivery.id, "state": delivery.state.value, "robot_id": delivery.robot_id})

    def _custody(
        self,
        kind: str,
        delivery: dl.Delivery,
        actor: str,
        *,
        place_id: str | None = None,
        detail: str = "",
        at: datetime | None = None,
    ) -> None:
        self.store.append_custody(
            kind=kind,
            delivery_id=delivery.id,
            actor=actor,
            robot_id=delivery.robot_id,
            compartment_id=delivery.compartment_id,
            place_id=place_id,
            detail=detail,
            at=at or utcnow(),
        )

    def _move(self, delivery: dl.Delivery, state: S, message: str) -> None:
        dl.transition(delivery, state, utcnow(), message)
        self.store.save_delivery(delivery)
        self._emit_delivery(delivery)
        if state == S.REQUESTED:
            self._deliveries_waiting = True

    # ---------------------------------------------------------------- dispatch
    def dispatch(self) -> None:
        """Give waiting deliveries (urgent first, then oldest) to the nearest free delivery robot;
        other waiting deliveries ride along when their routes fit (fleet_api/domain/batching.py)."""
        if self.link is None or not self._deliveries_waiting:
            return  # runs on every robot state: nothing to do while no delivery waits
        if not any(self._carries_files(r) and r.is_free_for_delivery() for r in self.robots.values()):
            return  # no store query while no robot could take a delivery
        waiting = self.store.list_deliveries(states=[S.REQUESTED])
        if not waiting:
            self._deliveries_waiting = False
            return
        waiting.sort(key=lambda d: (d.priority != "urgent", d.created_at))
        taken: set[str] = set()
        for delivery in waiting:
            if delivery.id in taken:
                continue
            chosen = self._nearest_free_robot(delivery)
            if chosen is None:
                continue  # a later delivery may still suit a robot that refused this one
            robot, to_pickup = chosen
            stops = self._batch_for(
                robot, to_pickup.waypoint_ids[0], delivery, [d for d in waiting if d.id not in taken]
            )
            if stops is None:
                self._move(
                    delivery, S.FAILED, f"no route from {delivery.sender.place_id} to {delivery.recipient.place_id}"
                )
                continue
            self._start_delivery_trip(robot, stops, to_pickup)
            taken.update(d.id for _, d in stops)

    def _nearest_free_robot(self, delivery: dl.Delivery) -> tuple[RobotView, Route] | None:
        free = [
            r
            for r in self.robots.values()
            if r.is_free_for_delivery()
            and self._can_carry(r, delivery)
            and (delivery.id, r.robot_id) not in self._rejected
            and (r.kind == "thirdparty" or self._free_compartments(r))
        ]  # every compartment blocked: none
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
            return None
        _, robot, to_pickup = min(options, key=lambda o: o[0])
        return robot, to_pickup

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

    def _batch_for(
        self, robot: RobotView, start_waypoint: str, lead: dl.Delivery, waiting: list[dl.Delivery]
    ) -> list[PlannedStop] | None:
        """The stops of ``lead``'s trip with the waiting deliveries that fit (fleet_api/domain/batching.py);
        None when the lead has no route from its sender to its recipient."""
        costs: dict[tuple[str, str], bt.Leg | None] = {}

        def leg(a: str, b: str) -> bt.Leg | None:
            if (a, b) not in costs:
                try:
                    route = plan_route(self.site, a, b)
                    costs[(a, b)] = bt.Leg(route.distance_m, route.estimated_time_s)
                except NoRouteError:
                    costs[(a, b)] = None
            return costs[(a, b)]

        others = [
            d
            for d in waiting
            if d.id != lead.id and self._can_carry(robot, d) and (d.id, robot.robot_id) not in self._rejected
        ]
        free = len(self._free_compartments(robot))
        batch = bt.plan_batch(
            self._job(lead),
            [self._job(d) for d in others],
            free if robot.kind != "thirdparty" else 1,
            leg,
            self.batch_rule,
            start_waypoint,
        )
        if batch is None:
            return None
        by_id = {d.id: d for d in [lead, *others]}
        return [("load" if stop.kind == "load" else "unload", by_id[stop.delivery_id]) for stop in batch.stops]

    def _job(self, delivery: dl.Delivery) -> bt.Job:
        sender, recipient = self.site.place(delivery.sender.place_id), self.site.place(delivery.recipient.place_id)
        return bt.Job(
            delivery.id,
            sender.waypoint_id,
            recipient.waypoint_id,
            sender.level,
            recipient.level,
            delivery.priority == "urgent",
        )

    def _free_compartments(self, robot: RobotView) -> list[int]:
        """Compartments not blocked by wrong PINs (a free robot carries nothing); a factsheet that
        names no load positions still has the one compartment every delivery robot has."""
        count = max(robot.compartments, 1)
        return [c for c in range(1, count + 1) if (robot.robot_id, c) not in self._pins.alerted]

    def _start_delivery_trip(self, robot: RobotView, stops: list[PlannedStop], to_pickup: Route) -> None:
        """Assign each delivery its compartment (and, for our robots, a recipient one-time PIN whose
        hash rides in the unload action) and send one order over all stops."""
        by_station = robot.kind == "thirdparty"
        compartments = self._free_compartments(robot) if not by_station else [1]
        deliveries = list({d.id: d for _, d in stops}.values())
        for delivery, compartment in zip(deliveries, compartments):
            if not by_station:
                recipient_pin = generate_pin()
                self._recipient_pins[delivery.id] = recipient_pin
                dl.set_recipient_pin(delivery, recipient_pin)
            dl.assign(delivery, robot.robot_id, compartment, utcnow())
            self.store.save_delivery(delivery)
            company = (
                f"; with {len(deliveries) - 1} other deliver{'y' if len(deliveries) == 2 else 'ies'}"
                if len(deliveries) > 1
                else ""
            )
            self._custody(
                "assigned",
                delivery,
                "fleet",
                detail=(
                    f"robot {robot.robot_id} compartment {compartment}"
                    if not by_station
                    else f"{robot.manufacturer} vehicle {robot.robot_id}, sealed tote by station"
                )
                + company,
            )
        run = self._build_run(robot, to_pickup.waypoint_ids[0], stops, by_station=by_station)
        robot.delivery_ids = run.delivery_ids
        self._begin(robot, run)
        for delivery in deliveries:
            self._move(delivery, S.TO_PICKUP, f"{robot.robot_id} is on its way to {delivery.sender.place_id}")

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
        action = self._action(
            ha.LOCK_COMPARTMENT, {"compartmentId": compartment_id, "occupied": occupied, "person": person}
        )
        return await self._run_instant(robot, action)

    def _delivery_in(self, robot_id: str, compartment_id: int) -> dl.Delivery | None:
        run = self.runs.get(robot_id)
        leg = run.leg_in(compartment_id) if run is not None else None
        return self._delivery(leg.delivery_id) if leg is not None else None
