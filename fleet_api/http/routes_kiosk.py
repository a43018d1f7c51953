"""Routes of a guidance robot's kiosk page: ask (with follow-up context), call a helper, lead the way.

Thin: the answers come from ``FleetService.ask``, leads and helper calls from ``GuidanceDesk``; this
module keeps only the per-page conversation subject (``SessionContexts``, in memory) and turns
refusals into 409 answers a visitor can read in either language.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from fleet_api.domain.kiosk_sessions import SessionContexts
from fleet_api.service import FleetService
from fleet_api.service.guidance_desk import GuidanceDesk, KioskRefusal

router = APIRouter(prefix="/api/kiosk", tags=["kiosk"])
_ROBOT_ID = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", examples=["gr1"])
_SESSION_ID = Field(
    default=None,
    min_length=8,
    max_length=64,
    pattern=r"^[A-Za-z0-9_-]+$",
    description="chosen by the page for one visitor's conversation",
)


class KioskAskIn(BaseModel):
    text: str = Field(min_length=1, max_length=500, examples=["营业执照怎么办"])
    language: Literal["zh-CN", "en", "auto"] = "zh-CN"
    robot_id: str | None = _ROBOT_ID
    session_id: str | None = _SESSION_ID


class KioskHelperIn(BaseModel):
    robot_id: str | None = _ROBOT_ID
    question: str = Field(default="", max_length=500)
    language: Literal["zh-CN", "en"] = "zh-CN"
    session_id: str | None = _SESSION_ID


class KioskLeadIn(BaseModel):
    robot_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", examples=["gr1"])
    item_id: str | None = Field(default=None, min_length=1, max_length=64, examples=["business-licence"])
    place_id: str | None = Field(default=None, min_length=1, max_length=64, examples=["win-A01"])
    language: Literal["zh-CN", "en"] = "zh-CN"

    @model_validator(mode="after")
    def _one_target(self) -> KioskLeadIn:
        if (self.item_id is None) == (self.place_id is None):
            raise ValueError("item_id, place_id: give exactly one of them")
        return self


@dataclass
class KioskState:
    desk: GuidanceDesk
    sessions: SessionContexts


def get_kiosk(request: Request) -> KioskState:
    """One desk and session store per fleet service, made on first use (the app factory stays untouched)."""
    service: FleetService = request.app.state.runtime.service
    state = getattr(request.app.state, "kiosk", None)
    if state is None or state.desk.service is not service:
        state = KioskState(GuidanceDesk(service), SessionContexts())
        request.app.state.kiosk = state
    return state


Kiosk = Annotated[KioskState, Depends(get_kiosk)]


def _refused(exc: KioskRefusal) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status)


@router.post("/ask")
async def ask(body: KioskAskIn, kiosk: Kiosk) -> Any:
    """Answer a visitor's question about the service the conversation is about; the robot speaks it.
    An abstention calls a staff helper at once (the answer tells the visitor so)."""
    context = kiosk.sessions.get(body.session_id, time.monotonic()) if body.session_id else None
    answer, spoken_by, wav_path = await kiosk.desk.service.ask(
        body.text, body.language, body.robot_id, context_item=context
    )
    if body.session_id:
        is_item = answer.item_id in kiosk.desk.service.knowledge.items
        kiosk.sessions.remember(body.session_id, answer.item_id if is_item else None, time.monotonic())
    helper = None
    if answer.needs_helper:
        try:
            helper = kiosk.desk.call_helper(body.robot_id, body.text, answer.language, body.session_id)
        except KioskRefusal:
            helper = kiosk.desk.call_helper(None, body.text, answer.language, body.session_id)  # unknown robot id
    return {
        "item": answer.item_id,
        "asks": answer.asks,
        "answer": answer.text,
        "language": answer.language,
        "confidence": answer.confidence,
        "needs_helper": answer.needs_helper,
        "helper_notified": helper is not None,
        "details": kiosk.desk.details(answer.item_id),
        "robot_id": spoken_by,
        "spoken": wav_path is not None,
    }


@router.post("/helper")
async def helper(body: KioskHelperIn, kiosk: Kiosk) -> Any:
    """The visitor asked for a staff helper (帮办): the information desk is notified."""
    try:
        call = kiosk.desk.call_helper(body.robot_id, body.question, body.language, body.session_id)
    except KioskRefusal as exc:
        return _refused(exc)
    return {
        "notified": True,
        "repeated": call.repeated,
        "notification_id": call.notification_id,
        "message": call.message_zh if body.language == "zh-CN" else call.message_en,
        "message_zh": call.message_zh,
        "message_en": call.message_en,
    }


@router.get("/helper")
async def helper_requests(kiosk: Kiosk, limit: int = 20) -> list[dict[str, Any]]:
    """Recent helper requests, newest first (for the technician / information desk page)."""
    return kiosk.desk.helper_requests(max(1, min(limit, 100)))


@router.post("/lead")
async def lead(body: KioskLeadIn, kiosk: Kiosk) -> Any:
    """Lead the visitor: the robot drives to the service's window (or the place) and says so on arrival.
    409 with a reason and zh/en messages when the robot is offline, busy or stopped."""
    try:
        started = kiosk.desk.lead(body.robot_id, body.language, item_id=body.item_id, place_id=body.place_id)
    except KioskRefusal as exc:
        return _refused(exc)
    return kiosk.desk.lead_dict(started)


@router.get("/lead/{robot_id}")
async def lead_status(robot_id: str, kiosk: Kiosk) -> Any:
    """The robot's latest lead: leading, arrived or stopped (404 when it has led nobody yet)."""
    current = kiosk.desk.lead_status(robot_id)
    if current is None:
        return JSONResponse({"detail": f"robot_id: {robot_id!r} has not led anyone yet"}, status_code=404)
    return kiosk.desk.lead_dict(current)
