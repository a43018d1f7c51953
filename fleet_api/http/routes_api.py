"""JSON API routes: deliveries, robots at work, guidance questions, site places, live events."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from fleet_api.domain import deliveries as dl
from fleet_api.domain.custody import CustodyEvent
from fleet_api.http.schemas import AlternateIn, DeliveryIn, PersonIn, QuestionIn, UnlockIn
from fleet_api.service import TECHNICIAN_DESK, FleetError, FleetService
from maps.render import floor_png
from maps.site import SiteError

router = APIRouter(prefix="/api")
# Routes that touch the fleet service are ``async def``: they then run on the event loop's thread,
# like the MQTT handlers, so the service is never entered from two threads at once (FastAPI runs
# plain ``def`` routes in a thread pool: two dispatches could hand one delivery to two robots).


def get_service(request: Request) -> FleetService:
    return request.app.state.runtime.service


Service = Annotated[FleetService, Depends(get_service)]


def _custody_dict(event: CustodyEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "actor": event.actor,
        "robot_id": event.robot_id,
        "compartment_id": event.compartment_id,
        "place_id": event.place_id,
        "at": event.at.isoformat(),
        "detail": event.detail,
        "hash": event.hash,
    }


def _delivery_out(service: FleetService, delivery: dl.Delivery, with_custody: bool = True) -> dict[str, Any]:
    out = dl.delivery_to_dict(delivery)
    for key in ("sender_pin_hash", "recipient_pin_hash"):
        out.pop(key, None)  # hashes stay inside the fleet and the robot
    for role in ("sender", "recipient"):
        place = service.site.place(out[role]["place_id"])
        out[role].update({"place_name_zh": place.name_zh, "place_name_en": place.name_en, "level": place.level})
    if with_custody:
        out["custody"] = [_custody_dict(e) for e in service.store.custody_for(delivery.id)]
    return out


@router.get("/health")
async def health(service: Service) -> dict[str, Any]:
    online = [r.robot_id for r in service.robots.values() if r.online]
    return {"status": "ok", "robots_online": online, "robots_total": len(service.robots)}


@router.get("/places")
async def places(service: Service, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        {"id": p.id, "kind": p.kind, "name_zh": p.name_zh, "name_en": p.name_en, "level": p.level}
        for p in service.site.places
        if kind is None or p.kind == kind
    ]


@router.get("/floors")
async def floors(service: Service) -> list[dict[str, Any]]:
    """Each floor's map extent in metres (origin = lower-left corner), for drawing floor plans."""
    out = []
    for floor in sorted(service.site.floors, key=lambda f: f.level):
        grid = floor.map
        out.append(
            {
                "level": floor.level,
                "map_id": floor.map_id,
                "name_zh": floor.name_zh,
                "name_en": floor.name_en,
                "origin_x_m": grid.origin_xy[0],
                "origin_y_m": grid.origin_xy[1],
                "width_m": grid.width_cells * grid.resolution_m,
                "height_m": grid.height_cells * grid.resolution_m,
            }
        )
    return out


_FLOOR_PNG_CACHE: dict[tuple[int, int], bytes] = {}


@router.get("/floors/{level}/map.png", response_class=Response)
def floor_map(level: int, service: Service) -> Response:
    """The floor's occupancy map with lanes and named places (rendered once, then cached)."""
    key = (id(service.site), level)
    if key not in _FLOOR_PNG_CACHE:
        try:
            _FLOOR_PNG_CACHE[key] = floor_png(service.site, level, scale=0.5)
        except SiteError:
            raise FleetError(f"no floor {level} in this site", 404) from None
    return Response(_FLOOR_PNG_CACHE[key], media_type="image/png", headers={"Cache-Control": "max-age=3600"})


@router.post("/deliveries", status_code=201)
async def create_delivery(body: DeliveryIn, service: Service) -> dict[str, Any]:
    """A clerk sends files: the answer carries the sender's PIN for opening the robot's compartment."""
    delivery, pin = service.create_delivery(
        dl.Party(body.sender.place_id, body.sender.person),
        dl.Party(body.recipient.place_id, body.recipient.person),
        [dl.Document(d.barcode, d.title) for d in body.documents],
        body.priority,
        body.note,
    )
    return {"delivery": _delivery_out(service, delivery), "sender_pin": pin}


@router.get("/deliveries")
async def list_deliveries(
    service: Service, place_id: str | None = None, limit: int = Query(100, ge=1, le=500)
) -> list[dict[str, Any]]:
    items = service.store.list_deliveries(limit=limit)
    if place_id:
        items = [d for d in items if place_id in (d.sender.place_id, d.recipient.place_id)]
    return [_delivery_out(service, d, with_custody=False) for d in items]


@router.get("/deliveries/{delivery_id}")
async def get_delivery(delivery_id: str, service: Service) -> dict[str, Any]:
    delivery = service.store.get_delivery(delivery_id)
    if delivery is None:
        raise FleetError(f"no delivery {delivery_id!r}", 404)
    return _delivery_out(service, delivery)


@router.post("/deliveries/{delivery_id}/cancel")
async def cancel_delivery(delivery_id: str, body: PersonIn, service: Service) -> dict[str, Any]:
    """Before load: cancelled. After load: the robot brings the files back (state ``returning``)."""
    return _delivery_out(service, service.cancel_delivery(delivery_id, body.person))


@router.post("/deliveries/{delivery_id}/alternate")
async def name_alternate(delivery_id: str, body: AlternateIn, service: Service) -> dict[str, Any]:
    """The recipient is absent: another person of the department receives; the answer carries the new
    one-time PIN (also sent to the department's page), the old one no longer opens the compartment."""
    delivery, pin = service.name_alternate(delivery_id, body.person, body.by)
    return {"delivery": _delivery_out(service, delivery), "recipient_pin": pin}


@router.get("/custody/verify")
async def verify_custody(service: Service) -> dict[str, Any]:
    problems = service.store.verify_custody()
    return {"intact": not problems, "problems": problems}


@router.get("/notifications")
async def notifications(place_id: str, service: Service) -> list[dict[str, Any]]:
    return [
        {"id": n.id, "delivery_id": n.delivery_id, "at": n.at.isoformat(), "text_zh": n.text_zh, "text_en": n.text_en}
        for n in service.store.notifications_for(place_id)
    ]


@router.get("/alerts")
async def alerts(service: Service, limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    """Alerts for the technicians (blocked compartments, robots that cannot bring files back), newest first."""
    return [
        {"id": n.id, "delivery_id": n.delivery_id, "at": n.at.isoformat(), "text_zh": n.text_zh, "text_en": n.text_en}
        for n in service.store.notifications_for(TECHNICIAN_DESK, limit=limit)
    ]


@router.get("/robots")
async def robots(service: Service) -> list[dict[str, Any]]:
    return [service.robot_summary(r) for r in service.robots.values()]


@router.post("/robots/{robot_id}/compartments/{compartment_id}/unlock")
async def unlock(robot_id: str, compartment_id: int, body: UnlockIn, service: Service) -> dict[str, Any]:
    """The PIN typed at the robot's screen; the robot itself checks it."""
    result = await service.unlock_compartment(robot_id, compartment_id, body.pin, body.person)
    return {"opened": True, "message": result}


@router.post("/robots/{robot_id}/compartments/{compartment_id}/close")
async def close(robot_id: str, compartment_id: int, body: PersonIn, service: Service) -> dict[str, Any]:
    result = await service.close_compartment(robot_id, compartment_id, body.person)
    return {"locked": True, "message": result}


@router.post("/robots/{robot_id}/estop")
async def estop(robot_id: str, body: PersonIn, service: Service) -> dict[str, Any]:
    """Technician's emergency stop: answers once the robot reports the instant action finished."""
    result = await service.emergency_stop(robot_id, body.person)
    return {"stopped": True, "message": result}


@router.post("/robots/{robot_id}/reset")
async def reset_estop(robot_id: str, body: PersonIn, service: Service) -> dict[str, Any]:
    """Explicit release of an emergency stop (remote or the robot's own button)."""
    result = await service.reset_emergency_stop(robot_id, body.person)
    return {"reset": True, "message": result}


@router.post("/guidance/ask")
async def ask(body: QuestionIn, service: Service) -> dict[str, Any]:
    """A visitor's question: answered from the knowledge base and spoken by a guidance robot."""
    answer, robot_id, wav_path = await service.ask(body.text, body.language, body.robot_id)
    return {
        "answer": answer.text,
        "language": answer.language,
        "item_id": answer.item_id,
        "robot_id": robot_id,
        "spoken": wav_path is not None,
        "wav_path": wav_path,
    }


@router.get("/elevators")
async def elevators(service: Service) -> list[dict[str, Any]]:
    return [s.to_dict() for s in service.elevators.values()]


@router.get("/events")
async def events(request: Request, service: Service) -> StreamingResponse:
    """Server-sent events: robot, delivery and elevator updates for the live pages."""
    queue = service.subscribe()

    async def stream():
        try:
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=15.0)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {event['kind']}\ndata: {json.dumps(event['data'], ensure_ascii=False)}\n\n"
        finally:
            service.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream")
