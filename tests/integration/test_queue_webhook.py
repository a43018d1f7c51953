"""The queue-ticket webhook and waiting list through the real fleet manager app (embedded broker,
demo hall site and fleet; no robot is running, so no visit starts)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from support import free_port

from fleet_api.http.app import create_app
from fleet_api.settings import Settings

pytestmark = pytest.mark.integration
CST = timezone(timedelta(hours=8))
TIME_SCALE = 10.0  # like the demo: one wall minute is ten hall minutes


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("queue"),
        http_port=free_port(),
        embedded_broker_port=free_port(),
        time_scale=TIME_SCALE,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def at(hall_minutes_ago: float = 0.0) -> str:
    return (datetime.now(CST) - timedelta(minutes=hall_minutes_ago / TIME_SCALE)).isoformat()


def post(client: TestClient, **body):
    return client.post("/api/queue/events", json=body)


def waiting(client: TestClient) -> dict[str, dict]:
    response = client.get("/api/queue/waiting")
    assert response.status_code == 200
    return {t["ticket"]: t for t in response.json()["tickets"]}


def error_fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    return {str(e["loc"][-1]) for e in response.json()["detail"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "issued", "service": "x", "zone": "wait-A"}, "ticket"),
        ({"ticket": "A 01", "event": "issued", "service": "x", "zone": "wait-A"}, "ticket"),
        ({"ticket": "A001", "event": "served", "service": "x", "zone": "wait-A"}, "event"),
        ({"ticket": "A001", "event": "issued", "service": "x"}, "zone"),
        ({"ticket": "A001", "event": "issued", "zone": "wait-A"}, "service"),
        ({"ticket": "A001", "event": "issued", "service": "x", "zone": "wait-A", "language": "fr"}, "language"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(client: TestClient, body: dict, field: str) -> None:
    assert field in error_fields(post(client, at=at(), **body))


def test_time_without_offset_or_garbage_is_422(client: TestClient) -> None:
    base = {"ticket": "A001", "event": "issued", "service": "x", "zone": "wait-A"}
    assert error_fields(post(client, at="2026-03-02T10:15:00", **base)) == {"at"}
    assert error_fields(post(client, at="yesterday", **base)) == {"at"}
    assert error_fields(client.post("/api/queue/events", json={**base})) == {"at"}


def test_unknown_zone_is_400_naming_it(client: TestClient) -> None:
    response = post(client, ticket="A002", event="issued", service="x", zone="wait-Z", at=at())
    assert response.status_code == 400 and "wait-Z" in response.json()["detail"]
    response = post(client, ticket="A002", event="issued", service="x", zone="win-A01", at=at())
    assert response.status_code == 400 and "not a waiting zone" in response.json()["detail"]
    assert "A002" not in waiting(client)


def test_issue_is_idempotent_and_the_waiting_list_shows_hall_minutes(client: TestClient) -> None:
    first = post(client, ticket="b105", event="issued", service="residence-permit", zone="wait-B", at=at(20))
    assert first.status_code == 200 and first.json()["outcome"] == "created"
    assert first.json()["ticket"] == "B105"  # upper-cased as printed on the ticket
    again = post(client, ticket="B105", event="issued", service="residence-permit", zone="wait-B", at=at(20))
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    post(client, ticket="B106", event="issued", service="residence-permit", zone="wait-B", at=at(3))

    listed = waiting(client)
    assert [t for t in listed if t.startswith("B10")] == ["B105", "B106"]  # longest waiting first
    b105 = listed["B105"]
    assert 20.0 <= b105["waited_min"] < 21.0  # 2 wall minutes at time scale 10
    assert b105["over_limit"] is True and listed["B106"]["over_limit"] is False
    assert (b105["zone"], b105["zone_name_zh"], b105["service"]) == ("wait-B", "B区 等候区", "residence-permit")
    assert b105["visit"] is None  # no guidance robot is online in this test


def test_called_and_finished_end_the_wait_in_any_order(client: TestClient) -> None:
    post(client, ticket="C001", event="issued", service="x", zone="wait-C", at=at(5))
    called = post(client, ticket="C001", event="called", at=at(1))
    assert called.json()["outcome"] == "updated" and called.json()["status"] == "called"
    assert "C001" not in waiting(client)
    assert post(client, ticket="C001", event="called", at=at(1)).json()["outcome"] == "duplicate"
    assert post(client, ticket="C001", event="finished", at=at()).json()["outcome"] == "updated"

    # called for a ticket never issued here: accepted and ignored; its late "issued" starts no wait
    unknown = post(client, ticket="D077", event="called", at=at())
    assert unknown.status_code == 200 and unknown.json()["outcome"] == "ignored"
    late = post(client, ticket="D077", event="issued", service="x", zone="wait-D", at=at(30))
    assert late.json()["outcome"] == "ignored"
    assert "D077" not in waiting(client)


def test_visits_record_is_listed(client: TestClient) -> None:
    response = client.get("/api/queue/visits")
    assert response.status_code == 200 and response.json() == []
    assert client.get("/api/queue/waiting").json()["wait_limit_min"] == 15.0
