"""``GET /api/figures`` through the real application (store, site, broker) with stored deliveries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import free_port

from fleet_api.adapters.store import SqlStore
from fleet_api.domain.deliveries import Delivery, DeliveryState, Document, Party, assign, new_delivery, transition
from fleet_api.http.app import create_app
from fleet_api.settings import Settings
from maps.planner import plan_route_between_places

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
S = DeliveryState
_TO_DELIVERED = [S.TO_PICKUP, S.AWAITING_LOAD, S.LOADED, S.IN_TRANSIT, S.AWAITING_RECIPIENT, S.DELIVERED]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", http_port=free_port(), embedded_broker_port=free_port())
    with TestClient(create_app(settings)) as c:
        yield c


def _delivered(
    store: SqlStore, n: int, sender: str, recipient: str, minutes: float, day_offset_h: float = 0
) -> Delivery:
    """Requested n minutes after T0 (+ day_offset_h); handed over ``minutes`` after the request."""
    created = T0 + timedelta(hours=day_offset_h, minutes=n)
    d = new_delivery(
        store.next_delivery_id(created.date()),
        Party(sender, "王科员"),
        Party(recipient, "李科长"),
        [Document(f"BC-{n}", "营业执照申请表")],
        "normal",
        "",
        created,
        "123456",
    )
    assign(d, "dr-01", 1, created + timedelta(seconds=1))
    for i, state in enumerate(_TO_DELIVERED):
        at = created + timedelta(minutes=minutes) if state is S.DELIVERED else created + timedelta(seconds=2 + i)
        transition(d, state, at, state.value)
    return d


def test_figures_report_turnaround_per_department_and_walking_saved(client: TestClient) -> None:
    runtime = client.app.state.runtime
    store, site = runtime.service.store, runtime.service.site
    for d in [
        _delivered(store, 1, "win-A01", "dept-market", 8),  # across floors: level 1 -> 2
        _delivered(store, 2, "win-A01", "dept-market", 12),
        _delivered(store, 3, "win-A01", "dept-market", 30),
        _delivered(store, 4, "dept-market", "dept-civil", 5),  # same floor
    ]:
        store.add_delivery(d)
    created = client.post(
        "/api/deliveries",
        json={
            "sender": {"place_id": "win-A01", "person": "王科员"},
            "recipient": {"place_id": "dept-market", "person": "李科长"},
            "documents": [{"barcode": "BC-99", "title": "未送达"}],
        },
    )
    assert created.status_code in (200, 201), created.text  # still requested: must not count

    response = client.get("/api/figures")
    assert response.status_code == 200, response.text
    body = response.json()

    assert body["delivered"] == 4
    market, civil = body["departments"]
    assert market == {
        "place_id": "dept-market",
        "kind": "department",
        "name_zh": "市场监管审批科",
        "name_en": "Market Regulation Approval Section",
        "level": 2,
        "delivered": 3,
        "median_turnaround_min": 12.0,
        "p90_turnaround_min": 26.4,
    }
    assert (civil["place_id"], civil["delivered"], civil["median_turnaround_min"], civil["p90_turnaround_min"]) == (
        "dept-civil",
        1,
        5.0,
        5.0,
    )

    up = plan_route_between_places(site, "win-A01", "dept-market").distance_m
    across = plan_route_between_places(site, "dept-market", "dept-civil").distance_m
    a, b = site.place("dept-market").pose, site.place("dept-civil").pose
    assert across >= ((a.x_m - b.x_m) ** 2 + (a.y_m - b.y_m) ** 2) ** 0.5  # never shorter than a straight line
    walked_m = 2 * (3 * up + across)
    assert body["walking_saved_m"] == pytest.approx(walked_m, abs=0.05)
    assert body["walking_saved_min"] == pytest.approx(walked_m / 1.2 / 60, abs=0.05)
    assert body["walking_speed_mps"] == 1.2 and body["unrouted"] == 0


def test_figures_window_by_request_time_and_bad_window_is_explained(client: TestClient) -> None:
    store = client.app.state.runtime.service.store
    store.add_delivery(_delivered(store, 1, "win-A01", "dept-market", 10))
    store.add_delivery(_delivered(store, 2, "win-A01", "dept-market", 20, day_offset_h=24))  # next day

    next_day = client.get("/api/figures", params={"since": "2026-11-30T00:00:00+08:00"}).json()
    assert next_day["delivered"] == 1 and next_day["departments"][0]["median_turnaround_min"] == 20.0
    first_day = client.get("/api/figures", params={"until": "2026-11-30T00:00:00+08:00"}).json()
    assert first_day["delivered"] == 1 and first_day["departments"][0]["median_turnaround_min"] == 10.0

    naive = client.get("/api/figures", params={"since": "2026-11-30T00:00:00"})
    assert naive.status_code == 422 and "since=2026-11-30T00:00:00: give a timezone" in naive.json()["detail"]
    backwards = client.get("/api/figures", params={"since": "2026-11-30T00:00:00Z", "until": "2026-11-29T00:00:00Z"})
    assert backwards.status_code == 422 and "must be before until" in backwards.json()["detail"]
