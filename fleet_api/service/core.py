"""The fleet's core: vehicles, trips and the link to them.

What every kind of work shares: the live event stream for the pages, the vehicles' VDA 5050
messages folded into RobotViews, releasing trips as orders, storing the runs of robots that carry
files (so a restarted fleet manager resumes them: resume.py), resynchronising after a lost link,
sending robots home and to charge, emergency stops, elevators and instant actions with answers.
Runs on the asyncio loop's thread only (the MQTT adapter hands messages over thread-safely).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from fleet_api.domain import absence as ab
from fleet_api.domain import batching as bt
from fleet_api.domain import deliveries as dl
from fleet_api.domain import pin_attempts as pa
from fleet_api.domain import waiting as wt
from fleet_api.domain.robots import RobotView
from fleet_api.domain.trips import TripRun, build_trip, run_to_dict
from hallfleet.knowledge import KnowledgeBase
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


def utcnow() -> datetime:
    return datetime.now(UTC)


def level_of_map(site: Site, map_id: str) -> int | None:
    """The floor level whose occupancy map is ``map_id`` (None for a map this site does not know)."""
    return next((f.level for f in site.floors if f.map_id == map_id), None)


def _known(lookup, key: str) -> bool:
    try:
        lookup(key)
        return True
    except SiteError:
        return False


class FleetCore:
    """State and plumbing shared by the kinds of work (see the package docstring)."""

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
        # False once dispatch found nothing waiting, True again when a delivery (re)enters REQUESTED:
        # dispatch runs on every vehicle state, and a large fleet must not pay for it while idle.
        self._deliveries_waiting = True
        self._charge_sent: dict[str, str] = {}  # robot -> startCharging actionId (once per low-battery episode)
        self.queue = wt.QueueBook()  # visitors who wait: in memory only (see fleet_api/domain/waiting.py)
        self.wait_rule = wt.WaitRule()
        self.absence_rule = ab.AbsenceRule()  # the app sets it from settings (recipient_wait_min, time_scale)
        self._absences: dict[str, ab.AbsenceWatch] = {}  # delivery -> its wait at the destination
        self._pins = pa.PinAttempts()
        self.batch_rule = bt.BatchRule()  # which waiting deliveries ride along on one trip
        self._stored_marks: dict[str, tuple[Any, ...]] = {}  # robot -> what its stored run looked like (_persist_run)

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
    def register_robot(
        self, robot_id: str, manufacturer: str, kind: str, home_place_id: str | None = None
    ) -> RobotView:
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
            robot.compartments = len(message.raw.get("loadSpecification", {}).get("loadPositions", []) or [])
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
                self._persist_run(robot)
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

    def _begin(self, robot: RobotView, run: TripRun) -> None:
        robot.trip_order_id = run.trip.order_id
        self.runs[robot.robot_id] = run
        self._release(robot, run)

    def _release(self, robot: RobotView, run: TripRun) -> None:
        order = run.trip.release_next()
        if order is not None:
            run.last_order = order
            self._persist_run(robot)  # stored before sent: after a restart in between, _reconcile resends it
            sent = self.link.send_order(robot.manufacturer, robot.robot_id, order)
            log.info(
                "%s: order %s update %d released to node %d/%d",
                robot.robot_id,
                sent.orderId,
                sent.orderUpdateId,
                run.trip.released_to,
                len(run.trip.nodes) - 1,
            )

    def _action(
        self, action_type: str, params: dict[str, Any], blocking: v.BlockingType = v.BlockingType.NONE
    ) -> v.Action:
        return v.Action(
            actionType=action_type,
            actionId=f"{action_type}-{uuid.uuid4().hex[:10]}",
            blockingType=blocking,
            actionParameters=[v.ActionParameter(key=k, value=val) for k, val in params.items()],
        )

    # ------------------------------------------------------------ stored runs
    def _persist_run(self, robot: RobotView) -> None:
        """Store the robot's run when it carries files and changed since it was last stored; drop the
        stored run once the robot carries none. Home, charging and visit trips are not stored: after a
        restart nobody waits for them. Called where a run begins, is released, ends, and after each
        vehicle state or elevator status; the mark comparison keeps the hot path free of writes."""
        run = self.runs.get(robot.robot_id)
        if run is None or not run.carried:
            if self._stored_marks.pop(robot.robot_id, None) is not None:
                self.store.delete_run(robot.robot_id)
            return
        mark = self._run_mark(robot.robot_id, run)
        if self._stored_marks.get(robot.robot_id) == mark:
            return
        self.store.save_run(robot.robot_id, self._run_payload(robot.robot_id, run))
        self._stored_marks[robot.robot_id] = mark

    def _run_mark(self, robot_id: str, run: TripRun) -> tuple[Any, ...]:
        return (
            run.progress_mark(),
            tuple(d for d in run.delivery_ids if d in self._recipient_pins),
            self._openers_of(robot_id),
        )

    def _openers_of(self, robot_id: str) -> dict[str, str]:
        return {str(c): person for (r, c), person in sorted(self._openers.items()) if r == robot_id}

    def _run_payload(self, robot_id: str, run: TripRun) -> dict[str, Any]:
        """The run, who opened the robot's compartments, and the recipients' one-time PINs in clear.

        A clear PIN is needed until the recipient is told it, when the files are loaded (its hash
        already rides in the robot's unloadDocuments, so a new PIN would need a new order). It is kept
        here ONLY until then: the load notification stores it in the notifications table anyway, and
        the next save after that notification drops it from this row."""
        pins = {d: self._recipient_pins[d] for d in run.delivery_ids if d in self._recipient_pins}
        return {"run": run_to_dict(run), "recipient_pins": pins, "openers": self._openers_of(robot_id)}

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
        rejected = any(
            r.referenceKey == "orderId" and r.referenceValue == trip.order_id
            for e in state.errors
            for r in e.errorReferences or []
        )
        missed_order = state.orderId != trip.order_id and trip.update_id == 0 and not state.nodeStates and not rejected
        if missed_update or missed_order:
            sent = self.link.send_order(robot.manufacturer, robot.robot_id, order)
            log.warning(
                "%s missed order %s update %d while away: resent", robot.robot_id, sent.orderId, sent.orderUpdateId
            )
        elif state.orderId != trip.order_id:
            log.error(
                "%s reports order %r after reconnecting, not its trip %s: left for the technician",
                robot.robot_id,
                state.orderId,
                trip.order_id,
            )

    def _finish_run(self, robot: RobotView, go_home: bool) -> None:
        self.runs.pop(robot.robot_id, None)
        robot.trip_order_id = None
        robot.delivery_ids = []
        self._persist_run(robot)
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
        self._begin(robot, TripRun(trip))

    # ----------------------------------------------------------------- battery
    def _check_battery(self, robot: RobotView) -> None:
        """An idle robot low on battery and carrying no files goes to a charging dock and charges there."""
        if not robot.update_charge_need(LOW_BATTERY_PCT, CHARGED_PCT):
            self._charge_sent.pop(robot.robot_id, None)
            return
        state = robot.state
        if state is None or state.batteryState.charging:
            return
        if (
            robot.robot_id in self._charge_sent
            or robot.delivery_ids
            or robot.robot_id in self.runs
            or robot.fatal
            or not robot.online
            or ha.START_CHARGING not in robot.action_types
            or self.link is None
        ):
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
            log.error(
                "%s is low on battery (%.0f%%) but no charging dock can be reached",
                robot.robot_id,
                robot.battery_pct or 0.0,
            )
            self._charge_sent[robot.robot_id] = ""
            return
        route = min(options, key=lambda o: o[0])[1]
        charge = self._action(ha.START_CHARGING, {}, v.BlockingType.HARD)
        self._charge_sent[robot.robot_id] = charge.actionId
        log.info(
            "%s battery %.0f%%: sent to charge at %s", robot.robot_id, robot.battery_pct or 0.0, route.waypoint_ids[-1]
        )
        if route.distance_m < 0.01:  # already on the dock
            self.link.send_instant_actions(
                robot.manufacturer, robot.robot_id, [charge.model_copy(update={"blockingType": v.BlockingType.NONE})]
            )
            return
        trip = build_trip(f"charge-{robot.robot_id}-{uuid.uuid4().hex[:6]}", robot.robot_id, [route], [charge])
        self._begin(robot, TripRun(trip))

    def _docks_for(self, robot: RobotView) -> list[str]:
        """Waypoints of the robot's home dock, or of every charging dock when its home is not one."""
        home = self.homes.get(robot.robot_id)
        if home is not None and _known(self.site.place, home) and self.site.place(home).kind == "charging_dock":
            return [self.site.place(home).waypoint_id]
        return [p.waypoint_id for p in self.site.places if p.kind == "charging_dock"]

    # ------------------------------------------------------------------ safety
    async def emergency_stop(self, robot_id: str, person: str) -> str:
        """Technician's e-stop: the robot stops and reports FATAL; its files stay with it (custody says so)."""
        return await self._safety_action(
            robot_id, person, ha.EMERGENCY_STOP, "emergency_stop", f"{robot_id} stopped by emergency stop", "stopped"
        )

    async def reset_emergency_stop(self, robot_id: str, person: str) -> str:
        """Explicit reset after an e-stop (the fleet's or the robot's own button); the robot resumes its order."""
        return await self._safety_action(
            robot_id,
            person,
            ha.RESET_EMERGENCY_STOP,
            "emergency_stop_reset",
            f"{robot_id} released from emergency stop",
            "reset",
        )

    async def _safety_action(
        self, robot_id: str, person: str, action_type: str, custody_kind: str, detail: str, done: str
    ) -> str:
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
                self._persist_run(robot)
        self._emit("elevator", status.to_dict())

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
        except TimeoutError:
            raise FleetError(
                f"robot {robot.robot_id} did not answer {action.actionType} within {timeout_s:.0f} s", 504
            ) from None
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
