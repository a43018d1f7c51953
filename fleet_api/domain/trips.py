"""A robot trip as a VDA 5050 order: nodes and edges from planned routes, and when to release what.

A ``TripRun`` is a trip being carried out: the deliveries it carries (each in its own compartment,
with its own load and hand-over stops) and what it already reported; both convert to plain JSON-able
dicts so the fleet manager can store a run and resume it after a restart.

Elevator rides follow the base/horizon rule: the base ends at the lobby until the car is at the
boarding floor with its door open, then at the car until the car is at the destination floor with
its door open. ``Trip`` is pure: the fleet service feeds it robot and elevator facts and sends the
orders it returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from hallfleet.protocol import vda5050 as v
from maps.planner import ElevatorRide, FloorPath, Route


class HoldKind(StrEnum):
    CAR_AT_BOARDING = "car_at_boarding"  # robot waits in the lobby
    CAR_AT_DESTINATION = "car_at_destination"  # robot waits in the car


@dataclass(frozen=True)
class Hold:
    """The base may not extend past ``node_index`` until the elevator is at ``level`` with door open."""

    node_index: int
    kind: HoldKind
    ride: ElevatorRide

    @property
    def level(self) -> int:
        return self.ride.from_level if self.kind == HoldKind.CAR_AT_BOARDING else self.ride.to_level


@dataclass(frozen=True)
class Stop:
    """A node where an action runs (load at pickup, unload at the destination)."""

    node_index: int
    action: v.Action


@dataclass
class Trip:
    order_id: str
    robot_id: str
    nodes: list[v.Node]
    edges: list[v.Edge]
    holds: list[Hold]
    stops: list[Stop] = field(default_factory=list)
    released_to: int = -1  # index of the last released node
    update_id: int = -1

    def node_index(self, node_id: str, sequence_id: int) -> int | None:
        for index, node in enumerate(self.nodes):
            if node.nodeId == node_id and node.sequenceId == sequence_id:
                return index
        return None

    def next_hold(self) -> Hold | None:
        return next((h for h in self.holds if h.node_index >= self.released_to), None)

    def release_next(self) -> v.Order | None:
        """Extend the base to the next hold (or the end); None when nothing more may be released."""
        hold = next((h for h in self.holds if h.node_index > self.released_to), None)
        target = hold.node_index if hold else len(self.nodes) - 1
        if target <= self.released_to:
            return None
        start = max(self.released_to, 0)
        self.released_to = target
        self.update_id += 1
        nodes = [n.model_copy(update={"released": i <= target}) for i, n in enumerate(self.nodes) if i >= start]
        edges = [e.model_copy(update={"released": i < target}) for i, e in enumerate(self.edges) if i >= start]
        return v.Order(
            headerId=0,
            timestamp=v.utc_timestamp(),
            manufacturer="",
            serialNumber="",
            orderId=self.order_id,
            orderUpdateId=self.update_id,
            nodes=nodes,
            edges=edges,
        )

    @property
    def finished_releasing(self) -> bool:
        return self.released_to >= len(self.nodes) - 1


def build_trip(
    order_id: str,
    robot_id: str,
    routes: list[Route],
    stop_actions: list[v.Action | None],
    start_theta: float = 0.0,
) -> Trip:
    """Join consecutive routes into one node/edge chain; ``stop_actions[i]`` runs at the end of route i."""
    nodes: list[v.Node] = []
    edges: list[v.Edge] = []
    holds: list[Hold] = []
    stops: list[Stop] = []

    def add_node(waypoint, map_id: str) -> None:
        if nodes and nodes[-1].nodeId == waypoint.id:
            return
        seq = len(nodes) * 2
        node = v.Node(
            nodeId=waypoint.id,
            sequenceId=seq,
            released=False,
            nodePosition=v.NodePosition(x=waypoint.x_m, y=waypoint.y_m, mapId=map_id, allowedDeviationXY=0.5),
        )
        if nodes:
            prev = nodes[-1]
            edges.append(
                v.Edge(
                    edgeId=f"{prev.nodeId}>{node.nodeId}",
                    sequenceId=seq - 1,
                    released=False,
                    startNodeId=prev.nodeId,
                    endNodeId=node.nodeId,
                )
            )
        nodes.append(node)

    for route, action in zip(routes, stop_actions, strict=True):
        pending_ride: ElevatorRide | None = None
        for segment in route.segments:
            if isinstance(segment, ElevatorRide):
                pending_ride = segment
                continue
            assert isinstance(segment, FloorPath)
            for point in segment.points:
                if pending_ride is not None and point.id == pending_ride.car_waypoint_to:
                    holds.append(Hold(len(nodes) - 2, HoldKind.CAR_AT_BOARDING, pending_ride))
                    holds.append(Hold(len(nodes) - 1, HoldKind.CAR_AT_DESTINATION, pending_ride))
                    pending_ride = None
                add_node(point, segment.map_id)
        if action is not None:
            index = len(nodes) - 1
            nodes[index] = nodes[index].model_copy(update={"actions": nodes[index].actions + [action]})
            stops.append(Stop(index, action))
    return Trip(order_id, robot_id, nodes, edges, holds, stops)


@dataclass
class Carried:
    """One delivery riding a trip: its compartment, and the stops (node indices) and node actions
    that load it and hand it over. ``load_action_id`` is None when it was loaded before this trip (a
    re-planned one); ``returning``: the hand-over is the hand-back to the sender."""

    delivery_id: str
    compartment_id: int = 1
    load_action_id: str | None = None
    unload_action_id: str | None = None
    pickup_index: int | None = None
    dest_index: int | None = None
    returning: bool = False

    def mark(self) -> tuple[Any, ...]:
        return (self.delivery_id, self.compartment_id, self.load_action_id, self.unload_action_id, self.returning)


@dataclass
class TripRun:
    """A trip being carried out, with the deliveries it carries and what it already reported (so
    every event happens once). Home, charging and visit trips carry nothing."""

    trip: Trip
    carried: list[Carried] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)
    elevator_calls: set[tuple[str, int]] = field(default_factory=set)
    last_order: v.Order | None = None  # the latest order (update) released, to resend after a lost link
    by_station: bool = False  # a vehicle of another make: VDA 5050 pick/drop at stations, no compartment PINs
    replan_pending: bool = False  # re-plan the stops ahead (return, cancel) as soon as the robot is out of the elevator

    @property
    def delivery_ids(self) -> list[str]:
        return [c.delivery_id for c in self.carried]

    @property
    def delivery_id(self) -> str | None:
        """The first delivery on board (None: a trip that carries no files)."""
        return self.carried[0].delivery_id if self.carried else None

    def leg(self, delivery_id: str) -> Carried | None:
        return next((c for c in self.carried if c.delivery_id == delivery_id), None)

    def leg_in(self, compartment_id: int) -> Carried | None:
        return next((c for c in self.carried if c.compartment_id == compartment_id), None)

    def progress_mark(self) -> tuple[Any, ...]:
        """Changes whenever anything worth storing changed: ``reported`` and ``elevator_calls`` only
        grow, so their sizes are enough. Cheap enough to compare on every vehicle state."""
        return (
            self.trip.order_id,
            self.trip.update_id,
            len(self.reported),
            len(self.elevator_calls),
            self.replan_pending,
            tuple(c.mark() for c in self.carried),
        )


# --- plain-data form (stored so a restarted fleet manager resumes the run) -----------------------


def _hold_to_dict(hold: Hold) -> dict[str, Any]:
    return {"node_index": hold.node_index, "kind": hold.kind.value, "ride": asdict(hold.ride)}


def _hold_from_dict(data: dict[str, Any]) -> Hold:
    return Hold(data["node_index"], HoldKind(data["kind"]), ElevatorRide(**data["ride"]))


def trip_to_dict(trip: Trip) -> dict[str, Any]:
    return {
        "order_id": trip.order_id,
        "robot_id": trip.robot_id,
        "nodes": [n.to_dict() for n in trip.nodes],
        "edges": [e.to_dict() for e in trip.edges],
        "holds": [_hold_to_dict(h) for h in trip.holds],
        "stops": [{"node_index": s.node_index, "action": s.action.to_dict()} for s in trip.stops],
        "released_to": trip.released_to,
        "update_id": trip.update_id,
    }


def trip_from_dict(data: dict[str, Any]) -> Trip:
    return Trip(
        order_id=data["order_id"],
        robot_id=data["robot_id"],
        nodes=[v.Node.model_validate(n) for n in data["nodes"]],
        edges=[v.Edge.model_validate(e) for e in data["edges"]],
        holds=[_hold_from_dict(h) for h in data["holds"]],
        stops=[Stop(s["node_index"], v.Action.model_validate(s["action"])) for s in data["stops"]],
        released_to=data["released_to"],
        update_id=data["update_id"],
    )


def run_to_dict(run: TripRun) -> dict[str, Any]:
    """Sets become sorted lists, so equal runs give equal (and stably diffable) JSON."""
    return {
        "trip": trip_to_dict(run.trip),
        "carried": [asdict(c) for c in run.carried],
        "reported": sorted(run.reported),
        "elevator_calls": [[elevator_id, level] for elevator_id, level in sorted(run.elevator_calls)],
        "last_order": run.last_order.to_dict() if run.last_order is not None else None,
        "by_station": run.by_station,
        "replan_pending": run.replan_pending,
    }


def _carried_from_dict(data: dict[str, Any]) -> list[Carried]:
    """The deliveries of a stored run; a run stored before trips carried several has one delivery
    (``delivery_id`` and its action ids at the top level, always in compartment 1)."""
    if "carried" in data:
        return [Carried(**c) for c in data["carried"]]
    if data.get("delivery_id") is None:
        return []
    return [
        Carried(
            data["delivery_id"],
            1,
            data.get("load_action_id"),
            data.get("unload_action_id"),
            data.get("pickup_index"),
            data.get("dest_index"),
            bool(data.get("returning", False)),
        )
    ]


def run_from_dict(data: dict[str, Any]) -> TripRun:
    last_order = data.get("last_order")
    carried = _carried_from_dict(data)
    reported = set(data.get("reported", []))
    if "carried" not in data and carried:  # one delivery: its hand-back events were reported without its id
        reported = {f"{key}:{carried[0].delivery_id}" if key in ("back", "back-failed") else key for key in reported}
    return TripRun(
        trip=trip_from_dict(data["trip"]),
        carried=carried,
        reported=reported,
        elevator_calls={(elevator_id, int(level)) for elevator_id, level in data.get("elevator_calls", [])},
        last_order=v.Order.model_validate(last_order) if last_order is not None else None,
        by_station=bool(data.get("by_station", False)),
        replan_pending=bool(data.get("replan_pending", data.get("return_pending", False))),
    )
