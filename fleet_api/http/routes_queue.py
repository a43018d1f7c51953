"""The queue-ticket system's webhook and the waiting list (visitors who wait too long get a robot's visit)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from fleet_api.domain import waiting as wt
from fleet_api.http.routes_api import Service
from fleet_api.service import utcnow

router = APIRouter(prefix="/api/queue", tags=["queue"])


class QueueEventIn(BaseModel):
    """One ticket event as the hall's queue-ticket (排队叫号) system reports it."""

    ticket: str = Field(
        min_length=1,
        max_length=16,
        pattern=r"^[A-Za-z0-9]+$",
        examples=["A023"],
        description="ticket number as printed; letters are upper-cased",
    )
    event: Literal["issued", "called", "finished"]
    at: AwareDatetime = Field(
        description="when it happened, ISO 8601 with UTC offset", examples=["2026-03-02T10:15:00+08:00"]
    )
    service: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        validate_default=True,
        description="service item id or name; required for 'issued'",
        examples=["business-licence"],
    )
    zone: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        validate_default=True,
        description="waiting zone place id; required for 'issued'",
        examples=["wait-A"],
    )
    language: Literal["zh-CN", "en"] = Field("zh-CN", description="language the visitor chose at the ticket machine")

    @field_validator("ticket")
    @classmethod
    def _upper(cls, ticket: str) -> str:
        return ticket.upper()

    @field_validator("service", "zone")
    @classmethod
    def _needed_when_issued(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("event") == "issued":
            raise ValueError(f"{info.field_name} is required when event is 'issued'")
        return value


@router.post("/events")
async def queue_event(body: QueueEventIn, service: Service) -> dict[str, Any]:
    """Webhook: ``issued`` starts a wait, ``called``/``finished`` end it. Repeats and late or unknown
    events are answered 200 with outcome ``duplicate`` or ``ignored`` (the sender need not retry)."""
    applied = service.queue_event(
        body.ticket,
        wt.TicketEvent(body.event),
        body.at,
        service=body.service or "",
        zone_id=body.zone or "",
        language=body.language,
    )
    ticket = applied.ticket
    return {
        "ticket": body.ticket,
        "event": body.event,
        "outcome": applied.outcome.value,
        "status": ticket.status.value if ticket else None,
        "visit_cancelled": applied.cancel.visit_id if applied.cancel else None,
    }


@router.get("/waiting")
async def waiting(service: Service) -> dict[str, Any]:
    """Tickets still waiting, longest first, with hall minutes waited and any robot visit."""
    now, rule = utcnow(), service.wait_rule
    tickets = []
    for ticket in service.queue.waiting():
        place = service.site.place(ticket.zone_id)
        minutes = wt.waited_min(ticket.issued_at, now, rule.time_scale)
        visit = ticket.visit
        tickets.append(
            {
                "ticket": ticket.number,
                "service": ticket.service,
                "zone": ticket.zone_id,
                "zone_name_zh": place.name_zh,
                "zone_name_en": place.name_en,
                "issued_at": ticket.issued_at.isoformat(),
                "waited_min": round(minutes, 1),
                "over_limit": minutes > rule.limit_min,
                "visit": {"robot_id": visit.robot_id, "state": visit.state.value} if visit else None,
            }
        )
    return {"wait_limit_min": rule.limit_min, "tickets": tickets}


@router.get("/visits")
async def visits(service: Service, limit: int = 50) -> list[dict[str, Any]]:
    """Which robot went to which ticket, newest first (kept in memory since the fleet manager started)."""
    return [v.to_dict() for v in service.queue.visits()[: max(limit, 0)]]
