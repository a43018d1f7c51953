"""Trips in progress as plain data: what the fleet manager stores to resume a delivery after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleet_api.domain.trips import (
    Carried,
    HoldKind,
    Trip,
    TripRun,
    build_trip,
    run_from_dict,
    run_to_dict,
    trip_from_dict,
    trip_to_dict,
)
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from maps.planner import ElevatorRide, plan_route
from maps.site import Site, load_site

DEMO_HALL = Path(__file__).resolve().parents[2] / "maps" / "demo_hall"


@pytest.fixture(scope="module")
def hall() -> Site:
    return load_site(DEMO_HALL)


def cross_floor_trip(hall: Site) -> Trip:
    """Dock 1 -> window A01 (load) -> HR department on level 3 (unload): rides elevator E2."""
    dock, window, dept = (hall.place(p).waypoint_id for p in ("dock-1", "win-A01", "dept-hrss"))
    load = v.Action(
        actionType=ha.LOAD_DOCUMENTS,
        actionId="load-1",
        blockingType=v.BlockingType.HARD,
        actionParameters=[
            v.ActionParameter(key="compartmentId", value=1),
            v.ActionParameter(key="pinHash", value="scrypt$abc"),
        ],
    )
    unload = v.Action(
        actionType=ha.UNLOAD_DOCUMENTS,
        actionId="unload-1",
        blockingType=v.BlockingType.HARD,
        actionParameters=[v.ActionParameter(key="compartmentId", value=1)],
    )
    routes = [plan_route(hall, dock, window), plan_route(hall, window, dept)]
    return build_trip("D-1-abc", "dr1", routes, [load, unload])


def json_round_trip(data: dict) -> dict:
    """Through JSON text, as the store keeps it."""
    return json.loads(json.dumps(data))


def test_trip_survives_the_round_trip_with_its_holds_and_stops(hall: Site) -> None:
    trip = cross_floor_trip(hall)
    trip.release_next()
    back = trip_from_dict(json_round_trip(trip_to_dict(trip)))
    assert back == trip
    assert [h.kind for h in back.holds] == [HoldKind.CAR_AT_BOARDING, HoldKind.CAR_AT_DESTINATION]
    assert isinstance(back.holds[0].ride, ElevatorRide) and back.holds[0].level == 1 and back.holds[1].level == 3
    assert back.stops[0].action.param("compartmentId") == 1
    assert back.stops[0].action.blockingType is v.BlockingType.HARD


def test_restored_trip_releases_exactly_what_the_original_would_have(hall: Site) -> None:
    original = cross_floor_trip(hall)
    original.release_next()  # up to the lobby
    restored = trip_from_dict(json_round_trip(trip_to_dict(original)))
    expected, got = original.release_next(), restored.release_next()
    assert got is not None and expected is not None
    assert got.orderUpdateId == expected.orderUpdateId == 1
    assert [(n.nodeId, n.sequenceId, n.released) for n in got.nodes] == [
        (n.nodeId, n.sequenceId, n.released) for n in expected.nodes
    ]
    assert restored.released_to == original.released_to


def test_run_survives_the_round_trip_with_what_it_reported(hall: Site) -> None:
    trip = cross_floor_trip(hall)
    order = trip.release_next()
    run = TripRun(
        trip,
        [Carried("D-1", 1, "load-1", "unload-1", trip.stops[0].node_index, trip.stops[1].node_index, returning=True)],
        reported={"board-7", "exit-7"},
        elevator_calls={("E2", 3), ("E2", 1)},
        last_order=order,
        replan_pending=True,
    )
    data = run_to_dict(run)
    assert data["elevator_calls"] == [["E2", 1], ["E2", 3]] and data["reported"] == ["board-7", "exit-7"]
    back = run_from_dict(json_round_trip(data))
    assert back == run
    assert back.elevator_calls == {("E2", 1), ("E2", 3)}


def test_run_without_an_order_yet_round_trips(hall: Site) -> None:
    run = TripRun(cross_floor_trip(hall))
    assert run_from_dict(json_round_trip(run_to_dict(run))) == run


def test_progress_mark_changes_with_every_step_worth_storing(hall: Site) -> None:
    run = TripRun(cross_floor_trip(hall), [Carried("D-1")])
    marks = [run.progress_mark()]
    run.last_order = run.trip.release_next()
    marks.append(run.progress_mark())
    run.elevator_calls.add(("E2", 1))
    marks.append(run.progress_mark())
    run.reported.add("board-7")
    marks.append(run.progress_mark())
    run.replan_pending = True
    marks.append(run.progress_mark())
    run.carried[0].returning = True
    marks.append(run.progress_mark())
    assert len(set(marks)) == len(marks)
    run.reported.add("board-7")  # already there: nothing new to store
    assert run.progress_mark() == marks[-1]


def two_deliveries_trip(hall: Site) -> Trip:
    """Dock 1 -> window A01 (load D-1 into 1, load D-2 into 2) -> HR (unload D-1) -> planning (unload D-2)."""
    dock, window, hr, planning = (
        hall.place(p).waypoint_id for p in ("dock-1", "win-A01", "dept-hrss", "dept-planning")
    )

    def action(kind: str, delivery_id: str, compartment: int) -> v.Action:
        return v.Action(
            actionType=kind,
            actionId=f"{kind}-{delivery_id}",
            blockingType=v.BlockingType.HARD,
            actionParameters=[v.ActionParameter(key="compartmentId", value=compartment)],
        )

    routes = [
        plan_route(hall, dock, window),
        plan_route(hall, window, window),
        plan_route(hall, window, hr),
        plan_route(hall, hr, planning),
    ]
    actions = [
        action(ha.LOAD_DOCUMENTS, "D-1", 1),
        action(ha.LOAD_DOCUMENTS, "D-2", 2),
        action(ha.UNLOAD_DOCUMENTS, "D-1", 1),
        action(ha.UNLOAD_DOCUMENTS, "D-2", 2),
    ]
    return build_trip("D-1-abc", "dr1", routes, actions)


def test_two_loads_at_one_window_are_two_actions_at_one_node_in_order(hall: Site) -> None:
    trip = two_deliveries_trip(hall)
    window = hall.place("win-A01").waypoint_id
    at_window = [n for n in trip.nodes if n.nodeId == window]
    assert len(at_window) == 1, "the window is one node of the order"
    assert [a.actionId for a in at_window[0].actions] == [f"{ha.LOAD_DOCUMENTS}-D-1", f"{ha.LOAD_DOCUMENTS}-D-2"]
    assert trip.stops[0].node_index == trip.stops[1].node_index < trip.stops[2].node_index < trip.stops[3].node_index


def test_run_with_two_deliveries_round_trips(hall: Site) -> None:
    trip = two_deliveries_trip(hall)
    carried = [
        Carried(
            f"D-{i}",
            i,
            trip.stops[i - 1].action.actionId,
            trip.stops[i + 1].action.actionId,
            trip.stops[i - 1].node_index,
            trip.stops[i + 1].node_index,
        )
        for i in (1, 2)
    ]
    run = TripRun(trip, carried, reported={"board-7"})
    back = run_from_dict(json_round_trip(run_to_dict(run)))
    assert back == run and back.delivery_ids == ["D-1", "D-2"]
    assert back.leg_in(2).delivery_id == "D-2" and back.leg("D-1").compartment_id == 1


def test_run_stored_before_trips_carried_several_still_loads(hall: Site) -> None:
    """The payload of a single-delivery run as it was stored before ``carried`` existed."""
    trip = cross_floor_trip(hall)
    old = {
        "trip": trip_to_dict(trip),
        "delivery_id": "D-1",
        "load_action_id": "load-1",
        "unload_action_id": "unload-1",
        "pickup_index": trip.stops[0].node_index,
        "dest_index": trip.stops[1].node_index,
        "reported": ["back", "board-7"],
        "elevator_calls": [["E2", 1]],
        "last_order": None,
        "by_station": False,
        "returning": True,
        "return_pending": True,
    }
    run = run_from_dict(json_round_trip(old))
    assert run.carried == [
        Carried("D-1", 1, "load-1", "unload-1", trip.stops[0].node_index, trip.stops[1].node_index, returning=True)
    ]
    assert run.replan_pending is True and run.reported == {"back:D-1", "board-7"}
    home = run_from_dict(json_round_trip({**old, "delivery_id": None}))
    assert home.carried == [] and home.delivery_id is None
