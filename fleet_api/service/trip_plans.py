"""Delivery trips as stop lists: building them, and re-planning the stops still ahead.

A trip carrying files is a list of stops, each a node action for one delivery: ``load`` at the
sender (loadDocuments with the sender's PIN hash, or a VDA 5050 pick), ``unload`` at the recipient
(unloadDocuments with the recipient's one-time PIN hash, or a drop) and ``back`` at the sender
(unloadDocuments with the sender's PIN hash: the files return). Two stops at one place are two
HARD actions at one node; the robot runs them one after the other (robots/core/vehicle.py).

VDA 5050 cannot re-route an order, only cancel and replace it. So when the stops change (files
return to their sender, a delivery is cancelled before its load, an alternate recipient gets a new
PIN) the order is cancelled and a new one drives from where the robot stands over the stops still
ahead, built from the deliveries' states: nothing loaded is forgotten, nothing handed over is
visited again, and the PIN hashes are the deliveries' current ones.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fleet_api.domain import deliveries as dl
from fleet_api.domain.robots import RobotView
from fleet_api.domain.trips import Carried, TripRun, build_trip
from fleet_api.service.core import FleetCore, S, log
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import NoRouteError, plan_route

StopKind = Literal["load", "unload", "back"]
PlannedStop = tuple[StopKind, dl.Delivery]
_BEFORE_LOAD = (S.ASSIGNED, S.TO_PICKUP, S.AWAITING_LOAD)
_ON_BOARD = (S.LOADED, S.IN_TRANSIT, S.AWAITING_RECIPIENT)


class TripPlanning(FleetCore):
    """Stop lists to orders, and re-planned orders when the stops change."""

    @staticmethod
    def _station_params(delivery: dl.Delivery, place_id: str) -> dict[str, Any]:
        """VDA 5050 pick/drop parameters: the files travel in a sealed tote named after the delivery."""
        return {"stationType": "floor", "stationName": place_id, "loadType": "documentTote", "loadId": delivery.id}

    def _stop_place(self, kind: StopKind, delivery: dl.Delivery) -> str:
        return delivery.recipient.place_id if kind == "unload" else delivery.sender.place_id

    def _stop_action(self, kind: StopKind, delivery: dl.Delivery, by_station: bool) -> v.Action:
        """The node action of one stop, armed with the PIN hash that opens the compartment there."""
        if by_station:
            station = self._station_params(delivery, self._stop_place(kind, delivery))
            return self._action(ha.PICK if kind == "load" else ha.DROP, station, v.BlockingType.HARD)
        pin_hash = delivery.recipient_pin_hash if kind == "unload" else delivery.sender_pin_hash
        return self._action(
            ha.LOAD_DOCUMENTS if kind == "load" else ha.UNLOAD_DOCUMENTS,
            {"deliveryId": delivery.id, "compartmentId": delivery.compartment_id, "pinHash": pin_hash},
            v.BlockingType.HARD,
        )

    def _build_run(
        self, robot: RobotView, start_waypoint: str, stops: list[PlannedStop], *, by_station: bool, tag: str = ""
    ) -> TripRun:
        """One order from ``start_waypoint`` over ``stops``; raises NoRouteError when a leg has no route."""
        routes, actions, here = [], [], start_waypoint
        for kind, delivery in stops:
            there = self.site.place(self._stop_place(kind, delivery)).waypoint_id
            routes.append(plan_route(self.site, here, there))
            actions.append(self._stop_action(kind, delivery, by_station))
            here = there
        lead = stops[0][1].id
        order_id = f"{lead}-{tag}-{uuid.uuid4().hex[:6]}" if tag else f"{lead}-{uuid.uuid4().hex[:6]}"
        trip = build_trip(order_id, robot.robot_id, routes, actions)
        carried: dict[str, Carried] = {}
        for (kind, delivery), stop in zip(stops, trip.stops, strict=True):
            leg = carried.setdefault(delivery.id, Carried(delivery.id, delivery.compartment_id or 1))
            if kind == "load":
                leg.load_action_id, leg.pickup_index = stop.action.actionId, stop.node_index
            else:
                leg.unload_action_id, leg.dest_index, leg.returning = (
                    stop.action.actionId,
                    stop.node_index,
                    kind == "back",
                )
        for leg in carried.values():
            if leg.pickup_index is None and self._state(leg.delivery_id) == S.LOADED:
                leg.pickup_index = 0  # loaded and not yet left: it departs when the robot leaves here
        return TripRun(trip, list(carried.values()), by_station=by_station)

    def _state(self, delivery_id: str) -> S | None:
        delivery = self.store.get_delivery(delivery_id)
        return delivery.state if delivery is not None else None

    def _remaining_stops(self, run: TripRun) -> list[PlannedStop]:
        """The stops still ahead, in the current trip's order; files newly returning go back last,
        after the other deliveries on board (their recipients are not kept waiting)."""
        ahead: list[tuple[int, int, PlannedStop]] = []
        back_last: list[PlannedStop] = []
        for order, leg in enumerate(run.carried):
            delivery = self.store.get_delivery(leg.delivery_id)
            if delivery is None:
                continue
            last = len(run.trip.nodes)
            if delivery.state in _BEFORE_LOAD:
                ahead.append((leg.pickup_index if leg.pickup_index is not None else last, order, ("load", delivery)))
                ahead.append((leg.dest_index if leg.dest_index is not None else last, order, ("unload", delivery)))
            elif delivery.state in _ON_BOARD and not leg.returning:
                ahead.append((leg.dest_index if leg.dest_index is not None else last, order, ("unload", delivery)))
            elif delivery.state == S.RETURNING and leg.returning:
                ahead.append((leg.dest_index if leg.dest_index is not None else last, order, ("back", delivery)))
            elif delivery.state == S.RETURNING:
                back_last.append(("back", delivery))
        return [stop for _, _, stop in sorted(ahead, key=lambda item: (item[0], item[1]))] + back_last

    def _replan(self, robot: RobotView, run: TripRun, tag: str = "re") -> None:
        """Cancel the robot's order and send one over the stops still ahead (module docstring);
        with none left the robot goes home. A leg without a route alerts the technicians."""
        stops = self._remaining_stops(run)
        self.link.send_instant_actions(robot.manufacturer, robot.robot_id, [self._action("cancelOrder", {})])
        self._let_go_of_elevators(robot, run)
        if not stops:
            self._finish_run(robot, go_home=True)
            return
        start = self._robot_waypoint(robot)
        try:
            if start is None:
                raise NoRouteError(f"{robot.robot_id} reports no position on this site's maps")
            new_run = self._build_run(robot, start, stops, by_station=run.by_station, tag=tag)
        except NoRouteError as exc:
            delivery = stops[0][1]
            self._alert(
                robot,
                delivery.compartment_id,
                delivery,
                self._place_at(robot),
                f"机器人 {robot.robot_id} 无法前往下一站（{exc}），文件仍锁在格口内，请技术人员处理",
                f"{robot.robot_id} cannot drive on to its next stop ({exc}); the files stay locked in it",
            )
            return
        robot.delivery_ids = new_run.delivery_ids
        log.info(
            "%s: trip re-planned over %d stop(s) for %s", robot.robot_id, len(stops), ", ".join(new_run.delivery_ids)
        )
        self._begin(robot, new_run)

    def _replan_when_out_of_the_car(self, robot: RobotView, run: TripRun) -> None:
        """Re-plan now, or once the robot is out of the elevator (turning inside the car would strand it)."""
        if self._riding_elevator(robot, run):
            run.replan_pending = True
            self._persist_run(robot)
            log.info("%s re-plans its stops once out of the elevator", robot.robot_id)
        else:
            self._replan(robot, run)
