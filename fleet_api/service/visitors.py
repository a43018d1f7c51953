"""Guidance robots for visitors: spoken answers, and visits to tickets that waited too long."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from fleet_api.domain import waiting as wt
from fleet_api.domain.robots import RobotView
from fleet_api.domain.trips import build_trip
from fleet_api.service.core import (
    VISIT_SPEAK_TIMEOUT_S,
    FleetCore,
    FleetError,
    TripRun,
    log,
    utcnow,
)
from hallfleet.knowledge import Answer
from hallfleet.protocol import hall_actions as ha
from maps.planner import NoRouteError, Route, plan_route
from maps.site import SiteError


class VisitorCare(FleetCore):
    """Answering visitors through a guidance robot, and visiting overdue queue tickets."""

    # ------------------------------------------------------------- guidance
    async def ask(
        self, question: str, language: str, robot_id: str | None = None, context_item: str | None = None
    ) -> tuple[Answer, str | None, str | None]:
        """Answer from the knowledge base and have a guidance robot say it: (answer, robot, wav or None).

        The visitor gets the written answer even when no guidance robot can speak it. ``context_item``
        is the service the conversation is about, so a follow-up ("那要带什么材料？") is answered about it.
        """
        answer = self.knowledge.answer(question, language, context_item=context_item)
        speakers = [
            r
            for r in self.robots.values()
            if r.kind == "guidance"
            and r.online
            and ha.SPEAK in r.action_types
            and (robot_id is None or r.robot_id == robot_id)
        ]
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

    def queue_event(
        self,
        number: str,
        event: wt.TicketEvent,
        at: datetime,
        *,
        service: str = "",
        zone_id: str = "",
        language: str = "zh-CN",
    ) -> wt.Applied:
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
            if (
                visit.state == wt.VisitState.GREETING
                and (now - visit.arrived_at).total_seconds() > VISIT_SPEAK_TIMEOUT_S
            ):
                self._end_visit(visit, wt.VisitState.FAILED, f"{visit.robot_id} did not confirm the greeting", now)
        due = self.queue.due(now, self.wait_rule.limit_min, self.wait_rule.time_scale)
        if due:
            starts = {r.robot_id: self._robot_waypoint(r) for r in self.robots.values() if self._free_for_visit(r)}
            routes: dict[tuple[str, str], Route | None] = {}

            def route_to(robot_id: str, zone_id: str) -> Route | None:
                if (robot_id, zone_id) not in routes:
                    try:
                        routes[robot_id, zone_id] = plan_route(
                            self.site, starts[robot_id], self.site.place(zone_id).waypoint_id
                        )
                    except NoRouteError:
                        routes[robot_id, zone_id] = None
                return routes[robot_id, zone_id]

            free = [robot_id for robot_id, start in starts.items() if start is not None]
            for ticket, robot_id in wt.assign(due, free, lambda r, z: getattr(route_to(r, z), "distance_m", None)):
                self._start_visit(self.robots[robot_id], ticket, route_to(robot_id, ticket.zone_id), now)
        self._send_guides_home(now)

    def _free_for_visit(self, robot: RobotView) -> bool:
        """A guidance robot that is online, well, can speak and is on no trip or visit."""
        return (
            robot.kind == "guidance"
            and robot.online
            and robot.state is not None
            and not robot.fatal
            and robot.e_stop == "NONE"
            and not robot.needs_charge
            and ha.SPEAK in robot.action_types
            and robot.robot_id not in self.runs
            and robot.trip_order_id is None
            and self.queue.active_visit(robot.robot_id) is None
        )

    def _start_visit(self, robot: RobotView, ticket: wt.Ticket, route: Route, now: datetime) -> None:
        visit = self.queue.start_visit(ticket, robot.robot_id, f"visit-{uuid.uuid4().hex[:8]}", now)
        log.info("%s goes to ticket %s in %s (%.0f m)", robot.robot_id, ticket.number, ticket.zone_id, route.distance_m)
        if route.distance_m < 0.01:  # already there
            self._emit("visit", visit.to_dict())
            self._greet(robot, visit, now)
            return
        trip = build_trip(f"visit-{ticket.number}-{uuid.uuid4().hex[:6]}", robot.robot_id, [route], [None])
        visit.order_id = trip.order_id
        self._begin(robot, TripRun(trip))
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
        action = self._action(
            ha.SPEAK, {"text": wt.greeting(ticket.number, minutes, visit.language), "language": visit.language}
        )
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
            "visit %s of %s to ticket %s: %s %s", visit.visit_id, visit.robot_id, visit.ticket, state.value, note
        )
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
