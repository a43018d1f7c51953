"""Files that cannot be handed over go back: cancel after load, absent recipients, wrong PINs.

After load the files leave the robot only at the destination or back at the sender. A cancel, or a
recipient who never comes, sends the files back: the running order is cancelled and a re-planned
one (trip_plans.py) ends at the sender, where an unloadDocuments armed with the *sender's* PIN hash
waits; files of other deliveries on board are handed over on the way first.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fleet_api.domain import absence as ab
from fleet_api.domain import deliveries as dl
from fleet_api.domain import pin_attempts as pa
from fleet_api.domain.pins import generate_pin
from fleet_api.domain.robots import RobotView
from fleet_api.domain.trips import Carried, HoldKind
from fleet_api.service.core import (
    TECHNICIAN_DESK,
    FleetCore,
    FleetError,
    S,
    TripRun,
    log,
    utcnow,
)
from hallfleet.protocol import elevator as ev


class ReturnsAndAbsence(FleetCore):
    """Return to sender, waiting for absent recipients, wrong PINs and alerts."""

    def return_to_sender(self, delivery: dl.Delivery, actor: str, reason: str) -> dl.Delivery:
        """Bring ``delivery``'s files back to the sender; it is ``returning`` until the sender has
        taken them out with their PIN. The robot re-plans (trip_plans.py): alone on board, it turns
        back at once (once out of the elevator); with other files on board it first hands those
        over, then brings these back, still locked: their recipients are not kept waiting, and the
        files never leave the compartment on the way."""
        robot, run = self._carrier(delivery)
        self._move(delivery, S.RETURNING, f"returning to {delivery.sender.place_id}: {reason}")
        self._custody("returning", delivery, actor, place_id=self._place_at(robot), detail=reason)
        self._absences.pop(delivery.id, None)
        self.store.add_notification(
            delivery.sender.place_id,
            delivery.id,
            f"文件 {delivery.id} 正在退回（{reason}），机器人到达后请用寄件密码取回",
            f"Files {delivery.id} are coming back to you ({reason}): take them out with your sender PIN",
            utcnow(),
        )
        self._replan_when_out_of_the_car(robot, run)
        return delivery

    def _carrier(self, delivery: dl.Delivery) -> tuple[RobotView, TripRun]:
        """The online robot on a trip with ``delivery``; FleetError 409 naming why it cannot be reached."""
        robot = self.robots.get(delivery.robot_id or "")
        run = self.runs.get(delivery.robot_id or "")
        if robot is None or run is None or run.leg(delivery.id) is None:
            raise FleetError(
                f"delivery {delivery.id}: robot {delivery.robot_id} is not on a trip with it "
                f"(fleet restarted?); a technician must bring the files back",
                409,
            )
        if not robot.online:
            raise FleetError(
                f"delivery {delivery.id}: robot {robot.robot_id} is offline and cannot be turned back now", 409
            )
        return robot, run

    def _riding_elevator(self, robot: RobotView, run: TripRun) -> bool:
        """Released into an elevator car and not yet out on the far floor."""
        state, trip = robot.state, run.trip
        index = (
            trip.node_index(state.lastNodeId, state.lastNodeSequenceId)
            if state and state.orderId == trip.order_id
            else None
        )
        if index is None:
            return False
        return any(
            hold.kind == HoldKind.CAR_AT_DESTINATION
            and trip.released_to >= hold.node_index
            and hold.node_index - 1 <= index < hold.node_index + 2
            for hold in trip.holds
        )

    def _let_go_of_elevators(self, robot: RobotView, run: TripRun) -> None:
        """Release every elevator this run called and did not leave yet (the robot will not ride it)."""
        for hold in run.trip.holds:
            called = (hold.ride.elevator_id, hold.level) in run.elevator_calls
            if hold.kind == HoldKind.CAR_AT_BOARDING and called and f"exit-{hold.node_index + 1}" not in run.reported:
                self.link.send_elevator_request(
                    hold.ride.elevator_id,
                    ev.ElevatorRequest(request_id=uuid.uuid4().hex[:12], command="release", robot_id=robot.robot_id),
                )

    def _track_return(self, robot: RobotView, run: TripRun, leg: Carried, delivery: dl.Delivery) -> None:
        back = robot.action_state(leg.unload_action_id) if leg.unload_action_id else None
        if delivery.state != S.RETURNING or back is None:
            return
        place = delivery.sender.place_id
        if back.actionStatus in ("RUNNING", "INITIALIZING", "FINISHED") and f"back:{delivery.id}" not in run.reported:
            run.reported.add(f"back:{delivery.id}")
            self._custody("arrived", delivery, robot.robot_id, place_id=place, detail="back at the sender")
            self._note(
                delivery,
                f"{robot.robot_id} is back at {place}: the sender opens compartment "
                f"{delivery.compartment_id} with the sender PIN",
            )
            self.store.add_notification(
                place,
                delivery.id,
                f"文件 {delivery.id} 已退回到达，请用寄件密码开 {delivery.compartment_id} 号格口取回",
                f"Files {delivery.id} are back: open compartment {delivery.compartment_id} with your sender PIN",
                utcnow(),
            )
        if back.actionStatus == "FINISHED":
            taker = (
                robot.robot_id
                if run.by_station
                else self._openers.get((robot.robot_id, delivery.compartment_id), delivery.sender.person)
            )
            self._move(delivery, S.RETURNED_TO_SENDER, f"taken back by {taker} at {place}")
            self._custody("returned", delivery, taker, place_id=place)
        elif back.actionStatus == "FAILED" and f"back-failed:{delivery.id}" not in run.reported:
            run.reported.add(f"back-failed:{delivery.id}")
            self._alert(
                robot,
                delivery.compartment_id,
                delivery,
                place,
                f"机器人 {robot.robot_id} 在 {place} 无法交还文件 {delivery.id}：{back.resultDescription or ''}",
                f"{robot.robot_id} could not hand files {delivery.id} back at {place}: {back.resultDescription or ''}",
            )

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
        waiting = [
            leg.delivery_id
            for run in self.runs.values()
            if not run.by_station
            for leg in run.carried
            if not leg.returning
        ]
        for delivery_id in waiting:
            delivery = self.store.get_delivery(delivery_id)
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
        self._custody(
            "recipient_absent",
            delivery,
            "fleet",
            place_id=place,
            detail=f"nobody took the files within {wait_min:g} min",
            at=now,
        )
        self.store.add_notification(
            place,
            delivery.id,
            f"文件 {delivery.id} 仍在机器人 {delivery.robot_id} 上等待 {person} 用一次性密码取件；本人不在可由部门指定代收人",
            f"Files {delivery.id} still wait on robot {delivery.robot_id} for {person} and the one-time PIN; "
            f"if {person} is away, the department may name an alternate recipient",
            now,
        )
        self._custody(
            "renotified",
            delivery,
            "fleet",
            place_id=place,
            detail=f"{person} notified again; the robot waits another {wait_min:g} min",
            at=now,
        )
        ab.apply_step(watch, ab.Step.RENOTIFY, now)
        self._note(delivery, f"nobody came within {wait_min:g} min: {person} notified again", now)

    def _give_up_waiting(self, delivery: dl.Delivery, watch: ab.AbsenceWatch, now: datetime) -> None:
        who = watch.alternate or delivery.recipient.person
        self._custody(
            "recipient_absent",
            delivery,
            "fleet",
            place_id=delivery.recipient.place_id,
            detail=f"{who} did not come within {self.absence_rule.wait_min:g} min",
            at=now,
        )
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
            raise FleetError(
                f"delivery {delivery.id} is {delivery.state.value}: an alternate recipient can be named "
                f"only while the robot waits at the destination",
                409,
            )
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
        self._custody(
            "alternate_named",
            delivery,
            by,
            place_id=delivery.recipient.place_id,
            at=now,
            detail=f"{person} receives instead of {delivery.recipient.person}; "
            f"a new one-time PIN replaces the previous one",
        )
        self.store.add_notification(
            delivery.recipient.place_id,
            delivery.id,
            f"{person}：文件 {delivery.id} 由您代收，一次性取件密码：{pin}（原密码已失效）",
            f"{person}: you receive files {delivery.id} instead; one-time PIN: {pin} (the previous PIN no longer works)",
            now,
        )
        self._note(delivery, f"{by} named {person} to receive instead of {delivery.recipient.person}", now)
        return delivery, pin

    def _rearm_for_alternate(self, robot: RobotView, delivery: dl.Delivery, person: str) -> str:
        """New PIN: its hash replaces the old one in the robot's waiting unloadDocuments (the trip is
        re-planned from here: this hand-over first, then any other stops ahead)."""
        pin = generate_pin()
        dl.set_recipient_pin(delivery, pin)
        delivery.alternate_person = person
        self.store.save_delivery(delivery)
        self._replan(robot, self.runs[robot.robot_id], tag="alt")
        return pin

    # ------------------------------------------------------------ PINs and alerts
    def _refuse_on_the_way_back(self, robot: RobotView, compartment_id: int, person: str) -> None:
        """Files on their way back open only at the sender's place: the fleet relays no PIN before."""
        delivery, run = self._delivery_in(robot.robot_id, compartment_id), self.runs.get(robot.robot_id)
        if delivery is None or run is None or delivery.state != S.RETURNING:
            return
        leg = run.leg(delivery.id)
        back = robot.action_state(leg.unload_action_id) if leg and leg.returning and leg.unload_action_id else None
        if back is not None and back.actionStatus in ("RUNNING", "INITIALIZING"):
            return
        self._robot_custody(
            "unlock_refused",
            robot,
            compartment_id,
            person,
            delivery,
            f"files are returning: compartment {compartment_id} opens only at {delivery.sender.place_id}",
        )
        raise FleetError(
            f"compartment {compartment_id} of {robot.robot_id} holds files on their way back to "
            f"{delivery.sender.place_id}; it opens only there",
            409,
        )

    def _pin_refused(self, robot: RobotView, compartment_id: int, person: str, message: str) -> None:
        delivery = self._delivery_in(robot.robot_id, compartment_id)
        if pa.classify(message) is not pa.Refusal.WRONG_PIN:
            self._robot_custody("unlock_refused", robot, compartment_id, person, delivery, message)
            return
        wrong = self._pins.wrong(robot.robot_id, compartment_id, robot_says_blocked=pa.says_now_blocked(message))
        self._robot_custody(
            "wrong_pin", robot, compartment_id, person, delivery, f"wrong PIN {wrong.in_a_row} in a row: {message}"
        )
        if wrong.alert:
            place = self._place_at(robot) or "?"
            self._alert(
                robot,
                compartment_id,
                delivery,
                place,
                f"机器人 {robot.robot_id} 第 {compartment_id} 号格口在 {place} 连续 {wrong.in_a_row} 次密码错误，"
                f"已锁定，请技术人员到场处理",
                f"{robot.robot_id} compartment {compartment_id} at {place}: {wrong.in_a_row} wrong PINs in a row, "
                f"blocked; a technician must clear it",
            )

    def _robot_custody(
        self,
        kind: str,
        robot: RobotView,
        compartment_id: int | None,
        actor: str,
        delivery: dl.Delivery | None,
        detail: str,
    ) -> None:
        """A custody event at a robot's compartment, with or without a delivery in it."""
        self.store.append_custody(
            kind=kind,
            delivery_id=delivery.id if delivery else None,
            actor=actor,
            robot_id=robot.robot_id,
            compartment_id=compartment_id,
            place_id=self._place_at(robot),
            detail=detail,
            at=utcnow(),
        )

    def _alert(
        self,
        robot: RobotView,
        compartment_id: int | None,
        delivery: dl.Delivery | None,
        place_id: str | None,
        text_zh: str,
        text_en: str,
    ) -> None:
        """Technicians must act: a notification for their page, a live event and a custody "alert"."""
        now = utcnow()
        log.error("ALERT: %s", text_en)
        note = self.store.add_notification(TECHNICIAN_DESK, delivery.id if delivery else None, text_zh, text_en, now)
        self._robot_custody("alert", robot, compartment_id, "fleet", delivery, text_en)
        self._emit(
            "alert",
            {
                "id": note.id,
                "robot_id": robot.robot_id,
                "compartment_id": compartment_id,
                "place_id": place_id,
                "delivery_id": delivery.id if delivery else None,
                "at": now.isoformat(),
                "text_zh": text_zh,
                "text_en": text_en,
            },
        )

    def _place_at(self, robot: RobotView) -> str | None:
        """The named place the robot stands at, else its waypoint (None when not localized)."""
        waypoint = self._robot_waypoint(robot)
        return next((p.id for p in self.site.places if p.waypoint_id == waypoint), waypoint)
