"""Trips in progress as plain data: what the fleet manager stores to resume a delivery after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleet_api.domain.trips import (
    HoldKind, Trip, TripRun, build_trip, run_from_dict, run_to_dict, trip_from_dict, trip_to_dict,
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
    load = v.Action(actionType=ha.LOAD_DOCUMENTS, actionId="load-1", blockingType=v.BlockingType.HARD,
                    actionParameters=[v.ActionParameter(key="compartmentId", value=1),
                                      v.ActionParameter(key="pinHash", value="scrypt$abc")])
    unload = v.Action(actionType=ha.UNLOAD_DOCUMENTS, actionId="unload-1", blockingType=v.BlockingType.HARD,
                      actionParameters=[v.ActionParameter(key="compartmentId", value=1)])
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
    assert [(n.nodeId, n.sequenceId, n.released) for n in got.nodes] == \
        [(n.nodeId, n.sequenceId, n.released) for n in expected.nodes]
    assert restored.released_to == original.released_to


def test_run_survives_the_round_trip_with_what_it_reported(hall: Site) -> None:
    trip = cross_floor_trip(hall)
    order = trip.release_next()
    run = TripRun(trip, "D-1", "load-1", "unload-1", trip.stops[0].node_index, trip.stops[1].node_index,
                  reported={"board-7", "exit-7"}, elevator_calls={("E2", 3), ("E2", 1)}, last_order=order,
                  returning=True, return_pending=True)
    data = run_to_dict(run)
    assert data["elevator_calls"] == [["E2", 1], ["E2", 3]] and data["reported"] == ["board-7", "exit-7"]
    back = run_from_dict(json_round_trip(data))
    assert back == run
    assert back.elevator_calls == {("E2", 1), ("E2", 3)}


def test_run_without_an_order_yet_round_trips(hall: Site) -> None:
    run = TripRun(cross_floor_trip(hall), None)
    assert run_from_dict(json_round_trip(run_to_dict(run))) == run


def test_progress_mark_changes_with_every_step_worth_storing(hall: Site) -> None:
    run = TripRun(cross_floor_trip(hall), "D-1")
    marks = [run.progress_mark()]
    run.last_order = run.trip.release_next()
    marks.append(run.progress_mark())
    run.elevator_calls.add(("E2", 1))
    marks.append(run.progress_mark())
    run.reported.add("board-7")
    marks.append(run.progress_mark())
    run.return_pending = True
    marks.append(run.progress_mark())
    assert len(set(marks)) == len(marks)
    run.reported.add("board-7")  # already there: nothing new to store
    assert run.progress_mark() == marks[-1]
