"""What a guidance robot's kiosk can ask of the fleet: lead a visitor to a window, call a staff helper.

Composed with the fleet service rather than part of it (it needs only its public state and trip
start): a lead is an ordinary trip of the fleet service (the same kind of trip ``_start_visit`` and ``send_home`` use),
whose last node carries a ``speak`` node action, so the robot itself tells the visitor where they
are the moment it arrives; no callback from the service is needed. A lead's progress is read back
from the robot's reported state whenever it is asked for.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fleet_api.domain.robots import RobotView
from fleet_api.domain.trips import build_trip
from fleet_api.service import FleetService, TripRun, utcnow
from hallfleet.knowledge import HallInfo, ServiceItem
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import NoRouteError, Route, nearest_waypoint, plan_route
from maps.site import Place, SiteError

HELP_DESK_PLACE_ID = "helpdesk"  # notifications for the information desk / technician (not a site place)
HELPER_REPEAT_S = 120.0  # a second call from the same robot within this time is the same request
ALREADY_THERE_M = 0.01

HELPER_COMING = {
    "zh-CN": "已通知工作人员，帮办人员马上就到，请在机器人旁稍候。",
    "en": "A staff helper has been called and will be with you shortly. Please wait by the robot.",
}


class KioskRefusal(Exception):
    """A kiosk request the fleet cannot do now, with a reason code and a message for the visitor in both languages."""

    def __init__(self, reason: str, message_zh: str, message_en: str, status: int = 409) -> None:
        super().__init__(message_en)
        self.reason, self.message_zh, self.message_en, self.status = reason, message_zh, message_en, status

    def to_dict(self) -> dict[str, Any]:
        return {
            "detail": self.message_en,
            "reason": self.reason,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


@dataclass
class Lead:
    """A guidance robot leading a visitor to a place (a window of the service asked about)."""

    robot_id: str
    order_id: str | None  # None: the robot already stood there
    place_id: str
    item_id: str | None
    language: str
    speak_action_id: str
    started_at: datetime
    state: str = "leading"  # leading | arrived | stopped
    arrived_at: datetime | None = None

    def to_dict(self, place: Place) -> dict[str, Any]:
        return {
            "robot_id": self.robot_id,
            "order_id": self.order_id,
            "place_id": self.place_id,
            "place_name_zh": place.name_zh,
            "place_name_en": place.name_en,
            "level": place.level,
            "item_id": self.item_id,
            "language": self.language,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "arrived_at": self.arrived_at.isoformat() if self.arrived_at else None,
        }


@dataclass(frozen=True)
class HelperCall:
    notification_id: int
    robot_id: str | None
    repeated: bool  # the same robot already called within HELPER_REPEAT_S: no second notification
    message_zh: str
    message_en: str


def item_details(item: ServiceItem, places: dict[str, Place]) -> dict[str, Any]:
    """What the kiosk's checklist shows: materials in both languages, where, fee, days, online."""
    windows = [w for w in item.window_ids() if w in places]
    return {
        "name_zh": item.name_zh,
        "name_en": item.name_en,
        "department_zh": item.department_zh,
        "department_en": item.department_en,
        "materials_zh": list(item.materials_zh),
        "materials_en": list(item.materials_en),
        "window": item.window,
        "zone": item.zone,
        "floor": item.floor if item.floor is not None else (places[windows[0]].level if windows else None),
        "window_place_ids": windows,
        "fee": item.fee,
        "fee_note_zh": item.fee_note_zh,
        "fee_note_en": item.fee_note_en,
        "processing_days": item.processing_days,
        "online": item.online,
    }


def arrival_text(place: Place, item: ServiceItem | None, language: str) -> str:
    """What the robot says on arrival (built from the site's and the catalog's own names only)."""
    if language == "en":
        text = f"Here we are: {place.name_en}."
        return text + (f" {item.name_en} is handled here." if item else "")
    text = f"我们到了，这里是{place.name_zh}。"
    return text + (f"{item.name_zh}在这里办理。" if item else "")


class GuidanceDesk:
    """Leads and helper calls for the kiosk pages, on top of one FleetService."""

    def __init__(self, service: FleetService) -> None:
        self.service = service
        self.leads: dict[str, Lead] = {}  # robot id -> its latest lead
        self._helper_calls: dict[tuple[str, str], tuple[datetime, int]] = {}  # (robot, session) -> (last call, note id)

    # ------------------------------------------------------------- answers
    def details(self, entry_id: str | None) -> dict[str, Any] | None:
        """Checklist details of a catalog item; None for hall information ("hall:...") and abstentions."""
        item = self.service.knowledge.items.get(entry_id or "")
        return item_details(item, {p.id: p for p in self.service.site.places}) if item else None

    def hall_info(self, entry_id: str | None) -> HallInfo | None:
        return self.service.knowledge.hall_info.get((entry_id or "").removeprefix("hall:"))

    # ------------------------------------------------------------------ lead
    def lead(self, robot_id: str, language: str, *, item_id: str | None = None, place_id: str | None = None) -> Lead:
        """Send the robot to the item's nearest window (or to ``place_id``); it speaks when it arrives."""
        robot = self._guidance_robot(robot_id)
        item = self._item(item_id) if item_id else None
        targets = self._targets(item, place_id)
        self._check_free(robot)
        start = self._robot_waypoint(robot)
        if start is None:
            raise KioskRefusal(
                "not_localized",
                f"机器人 {robot_id} 暂时无法确定自己的位置，不能带路。",
                f"Robot {robot_id} does not know where it is right now and cannot lead the way.",
            )
        best: tuple[Route, Place] | None = None
        for place in targets:
            try:
                route = plan_route(self.service.site, start, place.waypoint_id)
            except NoRouteError:
                continue
            if best is None or route.distance_m < best[0].distance_m:
                best = (route, place)
        if best is None:
            raise KioskRefusal(
                "no_route",
                "抱歉，机器人找不到去那里的路线，请按指示牌前往或咨询工作人员。",
                "Sorry, the robot has no route there. Please follow the signs or ask the staff.",
            )
        route, place = best
        speak = v.Action(
            actionType=ha.SPEAK,
            actionId=f"{ha.SPEAK}-{uuid.uuid4().hex[:10]}",
            blockingType=v.BlockingType.SOFT,
            actionParameters=[
                v.ActionParameter(key="text", value=arrival_text(place, item, language)),
                v.ActionParameter(key="language", value=language),
            ],
        )
        now = utcnow()
        if route.distance_m < ALREADY_THERE_M:  # already there: just say so
            self.service.link.send_instant_actions(
                robot.manufacturer, robot.robot_id, [speak.model_copy(update={"blockingType": v.BlockingType.NONE})]
            )
            lead = Lead(
                robot.robot_id, None, place.id, item.id if item else None, language, speak.actionId, now, "arrived", now
            )
        else:
            trip = build_trip(f"lead-{robot.robot_id}-{uuid.uuid4().hex[:6]}", robot.robot_id, [route], [speak])
            self.service._begin(robot, TripRun(trip))  # the same start as a visit's or a trip home
            lead = Lead(
                robot.robot_id, trip.order_id, place.id, item.id if item else None, language, speak.actionId, now
            )
        self.leads[robot.robot_id] = lead
        self.service._emit("lead", self.lead_dict(lead))
        return lead

    def lead_status(self, robot_id: str) -> Lead | None:
        """The robot's latest lead, brought up to date with what the robot reported."""
        lead = self.leads.get(robot_id)
        robot = self.service.robots.get(robot_id)
        if lead is None or robot is None or lead.state != "leading":
            return lead
        spoken = robot.action_state(lead.speak_action_id)
        run = self.service.runs.get(robot_id)
        if spoken is not None and spoken.actionStatus in ("INITIALIZING", "RUNNING", "FINISHED"):
            lead.state, lead.arrived_at = "arrived", utcnow()  # the speak node action starts at the window
        elif run is None or run.trip.order_id != lead.order_id:
            at_place = (
                robot.state is not None and robot.state.lastNodeId == self.service.site.place(lead.place_id).waypoint_id
            )
            lead.state = "arrived" if at_place and not robot.state.nodeStates else "stopped"
            lead.arrived_at = utcnow() if lead.state == "arrived" else None
        if lead.state != "leading":
            self.service._emit("lead", self.lead_dict(lead))
        return lead

    def lead_dict(self, lead: Lead) -> dict[str, Any]:
        return lead.to_dict(self.service.site.place(lead.place_id))

    def _item(self, item_id: str) -> ServiceItem:
        item = self.service.knowledge.items.get(item_id)
        if item is None:
            raise KioskRefusal(
                "unknown_item", f"item_id：没有事项 {item_id!r}", f"item_id: no service item {item_id!r}", 422
            )
        return item

    def _targets(self, item: ServiceItem | None, place_id: str | None) -> list[Place]:
        if item is not None:
            ids = item.window_ids()
        elif place_id:
            ids = [place_id]
        else:
            raise KioskRefusal(
                "no_target",
                "item_id 或 place_id：请指明要去的事项或地点。",
                "item_id or place_id: say which service or place to lead to.",
                422,
            )
        places = []
        for pid in ids:
            try:
                places.append(self.service.site.place(pid))
            except SiteError:
                continue
        if not places:
            field = "item_id" if item is not None else "place_id"
            raise KioskRefusal(
                "unknown_place",
                f"{field}：大厅地图上没有这个地点 ({', '.join(ids)})",
                f"{field}: no such place on this hall's map ({', '.join(ids)})",
                422,
            )
        return places

    # ---------------------------------------------------------------- helper
    def call_helper(
        self,
        robot_id: str | None,
        question: str,
        language: str,
        session_id: str | None = None,
        now: datetime | None = None,
    ) -> HelperCall:
        """Notify the information desk that a visitor at this robot needs a staff helper (帮办).

        One visitor tapping twice (same robot and session within HELPER_REPEAT_S) is one request."""
        now = now or utcnow()
        robot = self._guidance_robot(robot_id) if robot_id else None
        key = (robot_id or "", session_id or "")
        repeat = timedelta(seconds=HELPER_REPEAT_S)
        self._helper_calls = {k: c for k, c in self._helper_calls.items() if now - c[0] < repeat}  # stays small
        last = self._helper_calls.get(key)
        if last is not None:
            return HelperCall(last[1], robot_id, True, HELPER_COMING["zh-CN"], HELPER_COMING["en"])
        where_zh, where_en = self._where(robot)
        asked_zh = f"问题：“{question.strip()}”" if question.strip() else "（未输入问题）"
        asked_en = f"Question: “{question.strip()}”" if question.strip() else "(no question typed)"
        note = self.service.store.add_notification(
            HELP_DESK_PLACE_ID,
            None,
            f"帮办请求：{where_zh}的市民需要工作人员协助。{asked_zh}（{'中文' if language == 'zh-CN' else '英文'}）",
            f"Helper requested: a visitor {where_en} needs a staff member. {asked_en} ({'Chinese' if language == 'zh-CN' else 'English'})",
            now,
        )
        self._helper_calls[key] = (now, note.id)
        self.service._emit(
            "helper",
            {
                "id": note.id,
                "robot_id": robot_id,
                "at": note.at.isoformat(),
                "text_zh": note.text_zh,
                "text_en": note.text_en,
            },
        )
        if robot is not None and robot.online and ha.SPEAK in robot.action_types and self.service.link is not None:
            say = v.Action(
                actionType=ha.SPEAK,
                actionId=f"{ha.SPEAK}-{uuid.uuid4().hex[:10]}",
                blockingType=v.BlockingType.NONE,
                actionParameters=[
                    v.ActionParameter(key="text", value=HELPER_COMING[language]),
                    v.ActionParameter(key="language", value=language),
                ],
            )
            self.service.link.send_instant_actions(robot.manufacturer, robot.robot_id, [say])
        return HelperCall(note.id, robot_id, False, HELPER_COMING["zh-CN"], HELPER_COMING["en"])

    def helper_requests(self, limit: int = 20) -> list[dict[str, Any]]:
        return [
            {"id": n.id, "at": n.at.isoformat(), "text_zh": n.text_zh, "text_en": n.text_en}
            for n in self.service.store.notifications_for(HELP_DESK_PLACE_ID, limit=limit)
        ]

    def _where(self, robot: RobotView | None) -> tuple[str, str]:
        """Where staff find the visitor: at robot X, near the closest place on its floor."""
        if robot is None:
            return "自助导办屏旁", "at a kiosk screen"
        place = self._nearest_place(robot)
        if place is None:
            return f"导览机器人 {robot.robot_id} 旁", f"at guidance robot {robot.robot_id}"
        return (
            f"导览机器人 {robot.robot_id} 旁（{place.level}楼 {place.name_zh} 附近）",
            f"at guidance robot {robot.robot_id} (floor {place.level}, near {place.name_en})",
        )

    def _nearest_place(self, robot: RobotView) -> Place | None:
        pos = robot.state.agvPosition if robot.state else None
        floor = next((f for f in self.service.site.floors if pos and f.map_id == pos.mapId), None)
        if floor is None:
            return None
        on_floor = [p for p in self.service.site.places if p.level == floor.level]
        return min(on_floor, key=lambda p: math.hypot(p.pose.x_m - pos.x, p.pose.y_m - pos.y), default=None)

    # ---------------------------------------------------------------- robots
    def _guidance_robot(self, robot_id: str) -> RobotView:
        robot = self.service.robots.get(robot_id)
        if robot is None or robot.kind != "guidance":
            raise KioskRefusal(
                "unknown_robot",
                f"robot_id：没有导览机器人 {robot_id!r}",
                f"robot_id: no guidance robot {robot_id!r}",
                422,
            )
        return robot

    def _check_free(self, robot: RobotView) -> None:
        rid = robot.robot_id
        if not robot.online or robot.state is None:
            raise KioskRefusal(
                "offline",
                f"机器人 {rid} 目前离线，无法带路。请按指示牌前往或咨询工作人员。",
                f"Robot {rid} is offline and cannot lead the way. Please follow the signs or ask the staff.",
            )
        if robot.e_stop != "NONE" or robot.fatal:
            raise KioskRefusal(
                "stopped",
                f"机器人 {rid} 处于急停或故障状态，无法带路。请咨询工作人员。",
                f"Robot {rid} is emergency-stopped or has a fault and cannot lead the way. Please ask the staff.",
            )
        if (
            rid in self.service.runs
            or robot.trip_order_id is not None
            or self.service.queue.active_visit(rid) is not None
        ):
            raise KioskRefusal(
                "busy",
                f"机器人 {rid} 正在执行其他任务，请稍后再试，或按指示牌前往。",
                f"Robot {rid} is busy with another task. Please try again shortly or follow the signs.",
            )
        if robot.needs_charge:
            raise KioskRefusal(
                "low_battery",
                f"机器人 {rid} 电量不足，无法带路。请按指示牌前往或咨询工作人员。",
                f"Robot {rid} is low on battery and cannot lead the way. Please follow the signs or ask the staff.",
            )
        if ha.SPEAK not in robot.action_types:
            raise KioskRefusal(
                "cannot_speak",
                f"机器人 {rid} 不支持语音播报，无法带路。",
                f"Robot {rid} cannot speak and so cannot lead the way.",
            )

    def _robot_waypoint(self, robot: RobotView) -> str | None:
        """The lane-graph waypoint the robot stands at (its last node, else the nearest to its position)."""
        state = robot.state
        site = self.service.site
        if state.lastNodeId:
            try:
                site.waypoint(state.lastNodeId)
                return state.lastNodeId
            except SiteError:
                pass
        pos = state.agvPosition
        floor = next((f for f in site.floors if pos and f.map_id == pos.mapId), None)
        return nearest_waypoint(site, floor.level, pos.x, pos.y).id if floor else None
