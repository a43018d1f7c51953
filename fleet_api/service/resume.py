"""Resuming deliveries after a fleet manager restart.

Every run of a robot carrying files is stored whenever it changes (``FleetCore._persist_run``). At
start-up the runs come back before the MQTT link starts; the link's resync (stateRequest) then
brings each robot's actual state, ``_reconcile`` resends an order update the robot missed and
``_advance`` catches up with what the robot did meanwhile. The run's ``reported`` set and elevator
calls come back with it, so no custody event, notification or elevator call is made twice.
"""

from __future__ import annotations

from typing import Any

from fleet_api.domain import deliveries as dl
from fleet_api.domain.trips import TripRun, run_from_dict
from fleet_api.service.core import _OPEN_STATES, FleetCore, S, log

_BEFORE_LOAD = (S.ASSIGNED, S.TO_PICKUP, S.AWAITING_LOAD)


class ResumeAfterRestart(FleetCore):
    """Bring stored runs back into the service (call once, after the fleet file's robots are registered)."""

    def resume_runs(self) -> list[str]:
        """Restore the stored runs of registered robots; returns the deliveries resumed."""
        resumed: list[str] = []
        for robot_id, payload in self.store.load_runs().items():
            resumed.extend(self._resume_one(robot_id, payload))
        self._requeue_unsent(set(resumed))
        return resumed

    def _resume_one(self, robot_id: str, payload: dict[str, Any]) -> list[str]:
        robot = self.robots.get(robot_id)
        if robot is None:  # kept: the robot may be back in the fleet file at the next start
            log.error("stored trip of %s, which the fleet file no longer names: not resumed", robot_id)
            return []
        try:
            run = run_from_dict(payload["run"])
        except (KeyError, TypeError, ValueError):
            log.exception("stored trip of %s cannot be read: not resumed", robot_id)
            return []
        open_ones = [
            d
            for d in (self.store.get_delivery(leg.delivery_id) for leg in run.carried)
            if d is not None and d.state in _OPEN_STATES and d.robot_id == robot_id
        ]
        if not open_ones:
            self.store.delete_run(robot_id)  # over already (e.g. stopped right after the last custody event)
            return []
        self.runs[robot_id] = run
        robot.trip_order_id = run.trip.order_id
        robot.delivery_ids = run.delivery_ids
        for delivery_id, pin in self._stored_pins(payload, run).items():
            delivery = next((d for d in open_ones if d.id == delivery_id), None)
            if pin and delivery is not None and delivery.state in _BEFORE_LOAD:  # later states told the recipient
                self._recipient_pins[delivery_id] = pin
        for compartment, person in (payload.get("openers") or {}).items():
            self._openers[(robot_id, int(compartment))] = person
        for delivery in open_ones:
            self._catch_up(delivery, run)
        self._stored_marks[robot_id] = self._run_mark(robot_id, run)
        self._persist_run(robot)  # the catch-up may have changed the run
        log.info(
            "%s: resumed trip %s with %s",
            robot_id,
            run.trip.order_id,
            ", ".join(f"{d.id} ({d.state.value})" for d in open_ones),
        )
        return [d.id for d in open_ones]

    @staticmethod
    def _stored_pins(payload: dict[str, Any], run: TripRun) -> dict[str, str]:
        """Recipient PINs not told yet; a payload stored before trips carried several has one."""
        if "recipient_pins" in payload:
            return dict(payload["recipient_pins"] or {})
        pin = payload.get("recipient_pin")
        return {run.delivery_id: pin} if pin and run.delivery_id else {}

    def _catch_up(self, delivery: dl.Delivery, run: TripRun) -> None:
        """Finish steps the previous process stored the run for but stopped before completing."""
        leg = run.leg(delivery.id)
        returning = leg is not None and leg.returning
        if delivery.state == S.ASSIGNED and not returning:
            # The order is stored before it is sent: the robot has it, or _reconcile resends it.
            self._move(delivery, S.TO_PICKUP, f"{run.trip.robot_id} is on its way to {delivery.sender.place_id}")
        if delivery.state == S.RETURNING and not returning:
            # Stopped between "returning" and storing the re-planned trip: re-plan on the robot's next state.
            run.replan_pending = True

    def _requeue_unsent(self, resumed: set[str]) -> None:
        """A delivery assigned whose trip was never stored was never sent to a robot either: the
        process stopped in between. It goes back to the scheduler."""
        for delivery in self.store.list_deliveries(states=[S.ASSIGNED], limit=None):
            if delivery.id not in resumed:
                self._move(delivery, S.REQUESTED, "the fleet manager restarted before the robot got the order")
