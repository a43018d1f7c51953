"""Trips as VDA 5050 orders: one node/edge chain, stop actions, and the elevator base/horizon rule."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest

from fleet_api.domain.trips import HoldKind, Trip, build_trip
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import plan_route
from maps.site import Site, load_site
from maps.testing import write_tiny_site

DEMO_HALL = Path(__file__).resolve().parents[2] / "maps" / "demo_hall"
SCHEMAS = Path(v.__file__).resolve().parent / "schemas"


@cache
def order_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "order.schema").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return load_site(write_tiny_site(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def hall() -> Site:
    return load_site(DEMO_HALL)


def action(kind: str, action_id: str) -> v.Action:
    return v.Action(
        actionType=kind, actionId=action_id, actionParameters=[v.ActionParameter(key="compartmentId", value=1)]
    )


def delivery_trip(site: Site, start_wp: str, pickup_place: str, dest_place: str) -> Trip:
    pickup = site.place(pickup_place).waypoint_id
    dest = site.place(dest_place).waypoint_id
    routes = [plan_route(site, start_wp, pickup), plan_route(site, pickup, dest)]
    return build_trip(
        "order-1", "dr1", routes, [action(ha.LOAD_DOCUMENTS, "load-1"), action(ha.UNLOAD_DOCUMENTS, "unload-1")]
    )


def all_updates(trip: Trip) -> list[v.Order]:
    updates = []
    for _ in range(len(trip.nodes) + 1):  # bounded: each update releases at least one node
        order = trip.release_next()
        if order is None:
            return updates
        updates.append(order)
    raise AssertionError("release_next() never stopped releasing")


def check_schema(order: v.Order) -> None:
    stamped = order.model_copy(update={"headerId": 7, "manufacturer": "HallFleet", "serialNumber": "dr1"})
    errors = list(order_validator().iter_errors(stamped.to_dict()))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def check_chain(order: v.Order) -> None:
    """Even node / odd edge sequenceIds, edges joining consecutive nodes, released prefix then horizon."""
    nodes, edges = order.nodes, order.edges
    assert len(edges) == len(nodes) - 1
    for i, node in enumerate(nodes):
        assert node.sequenceId % 2 == 0
        if i:
            assert node.sequenceId == nodes[i - 1].sequenceId + 2
    for i, edge in enumerate(edges):
        assert edge.sequenceId == nodes[i].sequenceId + 1
        assert (edge.startNodeId, edge.endNodeId) == (nodes[i].nodeId, nodes[i + 1].nodeId)
        # an edge is released exactly when the node it leads to is
        assert edge.released == nodes[i + 1].released
    flags = [n.released for n in nodes]
    assert flags[0], "the first node of an order is always released (the robot's decision point)"
    released = flags.count(True)
    assert flags == [True] * released + [False] * (len(flags) - released), f"released flags not a prefix: {flags}"


def test_same_floor_trip_has_no_holds_and_goes_out_in_one_order(tiny: Site) -> None:
    trip = build_trip("o-same", "dr1", [plan_route(tiny, "a", "c")], [action(ha.LOAD_DOCUMENTS, "load-1")])
    assert trip.holds == []
    updates = all_updates(trip)
    assert len(updates) == 1
    order = updates[0]
    assert order.orderUpdateId == 0
    assert [n.nodeId for n in order.nodes] == ["a", "b", "c"]
    assert all(n.released for n in order.nodes) and all(e.released for e in order.edges)
    assert trip.finished_releasing
    check_chain(order)
    check_schema(order)


def test_cross_floor_trip_holds_at_lobby_then_in_car(tiny: Site) -> None:
    trip = delivery_trip(tiny, "a", "win-1", "dept-1")
    ids = [n.nodeId for n in trip.nodes]
    assert [(h.kind, ids[h.node_index], h.level) for h in trip.holds] == [
        (HoldKind.CAR_AT_BOARDING, "lobby1", 1),
        (HoldKind.CAR_AT_DESTINATION, "car-E-1", 2),
    ]
    assert all(h.ride.elevator_id == "E" for h in trip.holds)


def test_release_sequence_lobby_car_rest(tiny: Site) -> None:
    trip = delivery_trip(tiny, "a", "win-1", "dept-1")
    ids = [n.nodeId for n in trip.nodes]
    updates = all_updates(trip)
    assert [u.orderUpdateId for u in updates] == [0, 1, 2]
    last_released = []
    for order in updates:
        check_chain(order)
        check_schema(order)
        assert order.orderId == "order-1"
        released = [n for n in order.nodes if n.released]
        last_released.append(released[-1].nodeId)
    assert last_released == ["lobby1", "car-E-1", "b2"]
    # the first order carries the whole trip, the horizon beyond the lobby unreleased
    assert [n.nodeId for n in updates[0].nodes] == ids
    # each update starts at the previous update's decision point, same sequenceId
    for before, after in zip(updates, updates[1:]):
        base_end = [n for n in before.nodes if n.released][-1]
        assert (after.nodes[0].nodeId, after.nodes[0].sequenceId) == (base_end.nodeId, base_end.sequenceId)
        assert after.nodes[0].released
    assert trip.release_next() is None  # nothing left: no empty update


def test_node_after_the_ride_is_on_the_destination_map(tiny: Site) -> None:
    trip = delivery_trip(tiny, "a", "win-1", "dept-1")
    car = trip.holds[1].node_index
    assert trip.nodes[car].nodeId == "car-E-1" and trip.nodes[car].nodePosition.mapId == "f1"
    assert trip.nodes[car + 1].nodeId == "car-E-2" and trip.nodes[car + 1].nodePosition.mapId == "f2"
    assert all(n.nodePosition.mapId == "f2" for n in trip.nodes[car + 1 :])


def test_stop_actions_sit_on_pickup_and_destination_nodes(tiny: Site) -> None:
    trip = delivery_trip(tiny, "a", "win-1", "dept-1")
    with_actions = [(n.nodeId, [a.actionId for a in n.actions]) for n in trip.nodes if n.actions]
    assert with_actions == [("c", ["load-1"]), ("b2", ["unload-1"])]
    assert [(trip.nodes[s.node_index].nodeId, s.action.actionType) for s in trip.stops] == [
        ("c", ha.LOAD_DOCUMENTS),
        ("b2", ha.UNLOAD_DOCUMENTS),
    ]
    # the joint between the two routes (the pickup) appears once, not twice
    ids = [n.nodeId for n in trip.nodes]
    assert all(a != b for a, b in zip(ids, ids[1:]))


def test_demo_hall_delivery_rides_to_level_3(hall: Site) -> None:
    trip = delivery_trip(hall, hall.place("dock-1").waypoint_id, "win-A01", "dept-hrss")
    ids = [n.nodeId for n in trip.nodes]
    lobby, car = (h.node_index for h in trip.holds)
    assert hall.waypoint(ids[lobby]).level == 1 and ids[car] in {e.car_waypoint[1] for e in hall.elevators}
    assert [h.level for h in trip.holds] == [1, 3]
    updates = all_updates(trip)
    assert [u.orderUpdateId for u in updates] == [0, 1, 2]
    first = updates[0]
    assert [n.nodeId for n in first.nodes if n.released][-1] == ids[lobby]
    assert ids.index(hall.place("win-A01").waypoint_id) < lobby  # pickup is inside the first base
    level3_map = hall.map_id(3)
    assert trip.nodes[car + 1].nodePosition.mapId == level3_map
    assert trip.nodes[-1].nodeId == hall.place("dept-hrss").waypoint_id
    assert [a.actionType for a in trip.nodes[-1].actions] == [ha.UNLOAD_DOCUMENTS]
    for order in updates:
        check_chain(order)
        check_schema(order)
