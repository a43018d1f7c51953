"""Service figures from hand-made deliveries: turnaround per receiving place and walking saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleet_api.domain.deliveries import Delivery, DeliveryState, Document, Party, assign, new_delivery, transition
from fleet_api.domain.figures import percentile, service_figures, turnaround_min

T0 = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
S = DeliveryState
_TO_DELIVERED = [S.TO_PICKUP, S.AWAITING_LOAD, S.LOADED, S.IN_TRANSIT, S.AWAITING_RECIPIENT, S.DELIVERED]


def _delivery(
    n: int, sender: str, recipient: str, minutes: float | None, until: DeliveryState = S.DELIVERED
) -> Delivery:
    """Requested at T0 + n hours; reaches ``until``, the handover ``minutes`` after the request."""
    created = T0 + timedelta(hours=n)
    d = new_delivery(
        f"D-20261129-{n:04d}",
        Party(sender, "王科员"),
        Party(recipient, "李科长"),
        [Document(f"BC-{n}", "申请表")],
        "normal",
        "",
        created,
        "123456",
    )
    assign(d, "dr-01", 1, created + timedelta(seconds=1))
    steps = _TO_DELIVERED[: _TO_DELIVERED.index(until) + 1]
    for i, state in enumerate(steps):
        last = state is S.DELIVERED
        at = created + timedelta(minutes=minutes) if last else created + timedelta(seconds=2 + i)
        transition(d, state, at, state.value)
    return d


DISTANCES_M = {("win-A01", "dept-market"): 60.0, ("win-A02", "dept-civil"): 90.0}


def _distance(a: str, b: str) -> float | None:
    return DISTANCES_M.get((a, b))


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile(range(1, 11), 0.9) == pytest.approx(9.1)
    assert percentile([10, 20, 30, 40, 50], 0.9) == pytest.approx(46.0)
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([3, 1, 2], 0.5) == 2
    with pytest.raises(ValueError, match="percentile of no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match=r"within \[0, 1\], got 90"):
        percentile([1], 90)


def test_turnaround_is_request_to_handover() -> None:
    assert turnaround_min(_delivery(1, "win-A01", "dept-market", 17.5)) == pytest.approx(17.5)


def test_figures_per_receiving_place_and_walking_saved() -> None:
    market = [_delivery(i, "win-A01", "dept-market", m) for i, m in enumerate([30, 10, 50, 20, 40], start=1)]
    civil = [_delivery(6, "win-A02", "dept-civil", 12)]
    not_done = [
        _delivery(7, "win-A01", "dept-market", None, until=S.IN_TRANSIT),
        _delivery(8, "win-A01", "dept-market", None, until=S.AWAITING_RECIPIENT),
    ]
    cancelled = _delivery(9, "win-A01", "dept-market", None, until=S.TO_PICKUP)
    transition(cancelled, S.CANCELLED, T0 + timedelta(hours=10), "cancelled")

    figures = service_figures([*market, *civil, *not_done, cancelled], _distance)

    assert figures.delivered == 6
    assert [(p.place_id, p.delivered) for p in figures.places] == [("dept-market", 5), ("dept-civil", 1)]
    market_fig, civil_fig = figures.places
    assert market_fig.median_turnaround_min == pytest.approx(30.0)
    assert market_fig.p90_turnaround_min == pytest.approx(46.0)
    assert civil_fig.median_turnaround_min == civil_fig.p90_turnaround_min == pytest.approx(12.0)
    # there and back: 2 * (5 * 60 m + 90 m) at 1.2 m/s
    assert figures.walking_saved_m == pytest.approx(780.0)
    assert figures.walking_saved_min == pytest.approx(780.0 / 1.2 / 60.0)
    assert figures.unrouted == 0


def test_trip_without_walking_route_still_counts_for_turnaround() -> None:
    figures = service_figures(
        [_delivery(1, "win-A01", "dept-market", 8), _delivery(2, "win-Z9", "dept-market", 4)], _distance
    )
    assert figures.delivered == 2 and figures.unrouted == 1
    assert figures.walking_saved_m == pytest.approx(120.0)
    assert figures.places[0].median_turnaround_min == pytest.approx(6.0)


def test_no_deliveries_gives_zero_figures_and_bad_speed_is_refused() -> None:
    empty = service_figures([], _distance)
    assert (empty.delivered, empty.places, empty.walking_saved_m, empty.walking_saved_min) == (0, [], 0.0, 0.0)
    with pytest.raises(ValueError, match="walking_speed_mps must be > 0, got 0"):
        service_figures([], _distance, walking_speed_mps=0)
