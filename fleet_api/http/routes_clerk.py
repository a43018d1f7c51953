"""Routes for the clerk pages beyond the core API: the arrival estimate of a delivery's robot.

Thin: reads the fleet service's robots and current trips (never changes them) and leaves the
arithmetic to the pure ``fleet_api.domain.eta``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from fleet_api.domain import eta as eta_mod
from fleet_api.http.routes_api import Service
from fleet_api.service import FleetError, level_of_map

router = APIRouter(prefix="/api")


@router.get("/deliveries/{delivery_id}/eta")
async def delivery_eta(delivery_id: str, request: Request, service: Service) -> dict[str, Any] | None:
    """When the delivery's robot is due at the sender (on its way to pick up) or at the recipient
    (files on board): ``eta_s`` in seconds from now and ``arrive_by``; null while nothing moves.
    On a trip with several deliveries it is the time to this delivery's own stop."""
    delivery = service.store.get_delivery(delivery_id)
    if delivery is None:
        raise FleetError(f"no delivery {delivery_id!r}", 404)
    robot = service.robots.get(delivery.robot_id or "")
    run = service.runs.get(delivery.robot_id or "")
    leg = run.leg(delivery.id) if run is not None else None
    if robot is None or leg is None or robot.state is None:
        return None
    state, trip = robot.state, run.trip
    if state.orderId == trip.order_id:
        index = trip.node_index(state.lastNodeId, state.lastNodeSequenceId)
    else:
        index = 0  # the order is out but not taken up yet: the trip starts where the robot stands
    pos = state.agvPosition
    level = level_of_map(service.site, pos.mapId) if pos else None
    position = (level, pos.x, pos.y) if pos is not None and level is not None else None
    runtime = getattr(request.app.state, "runtime", None)
    time_scale = runtime.settings.time_scale if runtime is not None else 1.0
    now = datetime.now(UTC)
    estimate = eta_mod.delivery_eta(
        service.site,
        delivery.state.value,
        [n.nodeId for n in trip.nodes],
        index,
        leg.pickup_index,
        leg.dest_index,
        now,
        position,
        time_scale=time_scale,
        other_stops=[
            s.node_index for s in trip.stops if s.action.actionId not in (leg.load_action_id, leg.unload_action_id)
        ],
    )
    if estimate is None:
        return None
    return {
        "delivery_id": delivery.id,
        "state": delivery.state.value,
        "robot_id": robot.robot_id,
        "target": estimate.target,
        "eta_s": round(estimate.eta_s, 1),
        "arrive_by": estimate.arrive_by.isoformat(),
        "distance_m": round(estimate.distance_m, 1),
        "elevator_rides": estimate.elevator_rides,
    }
