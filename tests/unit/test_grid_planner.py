"""Grid planner: optimal 8-connected paths, no corner cutting, radius inflation, clear errors."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from maps.grid_planner import GridPlanner, NoGridPathError
from maps.occupancy import OCCUPIED, UNKNOWN, OccupancyMap

SQRT2 = math.sqrt(2.0)


def _grid(rows: list[str]) -> np.ndarray:
    """Free mask from a picture: '#' wall, '.' free; the first string is the TOP row."""
    return np.array([[ch != "#" for ch in row] for row in rows[::-1]], dtype=bool)


def _reference_length(free: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> float:
    """Plain Dijkstra with the same moves, costs and corner rule; inf when unreachable."""
    rows, cols = free.shape
    best = {start: 0.0}
    heap = [(0.0, start)]
    while heap:
        cost, (r, c) = heapq.heappop(heap)
        if (r, c) == goal:
            return cost
        if cost > best[(r, c)]:
            continue
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == dc == 0:
                    continue
                nr, nc = r + dr, c + dc
                if not (0 <= nr < rows and 0 <= nc < cols) or not free[nr, nc]:
                    continue
                if dr and dc and not (free[r + dr, c] and free[r, c + dc]):
                    continue
                new = cost + (SQRT2 if dr and dc else 1.0)
                if new < best.get((nr, nc), math.inf):
                    best[(nr, nc)] = new
                    heapq.heappush(heap, (new, (nr, nc)))
    return math.inf


def _assert_valid_path(planner: GridPlanner, path, start, goal) -> None:
    cells = [tuple(int(v) for v in cell) for cell in path.cells]
    assert cells[0] == tuple(start) and cells[-1] == tuple(goal)
    length = 0.0
    for (r0, c0), (r1, c1) in zip(cells, cells[1:]):
        dr, dc = r1 - r0, c1 - c0
        assert max(abs(dr), abs(dc)) == 1, "path cells must be 8-neighbours"
        assert planner.is_free(r1, c1)
        if dr and dc:
            assert planner.is_free(r0 + dr, c0) and planner.is_free(r0, c0 + dc), "corner cut"
        length += SQRT2 if dr and dc else 1.0
    assert path.length_cells == pytest.approx(length, abs=1e-9)


def test_straight_and_diagonal_lengths_are_exact() -> None:
    planner = GridPlanner(np.ones((10, 10), dtype=bool), resolution_m=0.05)
    straight = planner.plan((2, 1), (2, 8))
    assert straight.length_cells == pytest.approx(7.0)
    assert straight.length_m == pytest.approx(0.35)
    diagonal = planner.plan((0, 0), (6, 6))
    assert diagonal.length_cells == pytest.approx(6 * SQRT2)
    mixed = planner.plan((0, 0), (3, 9))
    assert mixed.length_cells == pytest.approx(3 * SQRT2 + 6)
    _assert_valid_path(planner, mixed, (0, 0), (3, 9))
    assert planner.plan((4, 4), (4, 4)).length_cells == 0.0


def test_no_corner_cutting_between_diagonal_walls() -> None:
    free = _grid(
        [
            "....",
            ".#..",
            "..#.",
            "....",
        ]
    )
    planner = GridPlanner(free)
    # (row 1, col 1) -> (row 2, col 2) would squeeze between the two wall cells diagonally
    path = planner.plan((1, 1), (2, 2))
    # cutting the corner would cost sqrt(2); the clear way goes round a wall: 6 straight moves
    assert path.length_cells == pytest.approx(6.0)
    assert path.length_cells == pytest.approx(_reference_length(free, (1, 1), (2, 2)))
    _assert_valid_path(planner, path, (1, 1), (2, 2))


def test_radius_inflation_blocks_a_narrow_door() -> None:
    # 0.1 m cells; a wall at col 20 with a 5-cell (0.5 m) door: a 0.2 m robot passes, 0.3 m not
    free = np.ones((40, 41), dtype=bool)
    free[:, 20] = False
    free[18:23, 20] = True
    slim = GridPlanner(free, resolution_m=0.1, radius_m=0.2)
    path = slim.plan_xy((0.55, 2.05), (3.55, 2.05))
    assert path.length_m == pytest.approx(3.0)
    wide = GridPlanner(free, resolution_m=0.1, radius_m=0.3)
    assert not wide.is_free(20, 20)
    assert wide.clearance_m(20, 20) == pytest.approx(0.3)
    with pytest.raises(NoGridPathError, match=r"\(0\.55, 2\.05\) m.*\(3\.55, 2\.05\) m.*not connected"):
        wide.plan_xy((0.55, 2.05), (3.55, 2.05))


def test_blocked_or_unreachable_ends_are_named() -> None:
    free = _grid(
        [
            "...#...",
            "...#...",
            "...#...",
        ]
    )
    planner = GridPlanner(free, resolution_m=0.5, origin_xy=(10.0, 20.0))
    with pytest.raises(NoGridPathError) as excinfo:
        planner.plan((0, 0), (2, 6))
    message = str(excinfo.value)
    assert "(10.25, 20.25) m [cell row 0, col 0]" in message
    assert "(13.25, 21.25) m [cell row 2, col 6]" in message
    with pytest.raises(NoGridPathError, match="goal is in a wall"):
        planner.plan((0, 0), (1, 3))
    with pytest.raises(NoGridPathError, match="start is outside the map"):
        planner.plan((0, -1), (0, 2))
    inflated = GridPlanner(free, resolution_m=0.5, radius_m=0.6)
    with pytest.raises(NoGridPathError, match=r"start is only 0\.50 m from a wall.*radius 0\.60"):
        inflated.plan((1, 2), (1, 0))


def test_unknown_cells_and_map_edges_block_like_walls() -> None:
    grid = np.zeros((20, 30), dtype=np.int8)
    grid[:, 15] = UNKNOWN
    grid[0, :] = OCCUPIED
    occupancy = OccupancyMap(0.1, (0.0, 0.0), 30, 20, grid)
    planner = GridPlanner.from_occupancy(occupancy, radius_m=0.15)
    assert not planner.is_free(10, 14)  # next to the unknown column
    assert not planner.is_free(1, 5)  # next to the wall row
    assert not planner.is_free(19, 5)  # next to the map's top edge
    assert planner.is_free(10, 5)
    with pytest.raises(NoGridPathError, match="not connected"):
        planner.plan((10, 5), (10, 25))


@pytest.mark.parametrize("seed", range(6))
def test_equal_to_reference_on_random_grids(seed: int) -> None:
    rng = np.random.default_rng(seed)
    free = rng.random((30, 40)) > 0.3
    planner = GridPlanner(free)
    cells = np.argwhere(free)
    checked = 0
    for _ in range(25):
        a, b = (tuple(int(v) for v in cells[i]) for i in rng.integers(0, len(cells), 2))
        expected = _reference_length(free, a, b)
        if math.isinf(expected):
            with pytest.raises(NoGridPathError):
                planner.plan(a, b)
            continue
        path = planner.plan(a, b)
        assert path.length_cells == pytest.approx(expected, abs=1e-9)
        _assert_valid_path(planner, path, a, b)
        checked += 1
    assert checked > 5


def test_equal_to_reference_on_rooms_with_inflation() -> None:
    rng = np.random.default_rng(11)
    free = np.ones((60, 80), dtype=bool)
    free[:, 40] = False
    free[30, :] = False
    for r, c in ((10, 40), (45, 40), (30, 20), (30, 60)):
        free[r - 3 : r + 4, c] = True
        free[r, c - 3 : c + 4] = True
    for _ in range(12):  # furniture
        r, c = rng.integers(2, 56), rng.integers(2, 76)
        free[r : r + 3, c : c + 4] = False
    planner = GridPlanner(free, resolution_m=0.1, radius_m=0.15)
    inflated = planner.free_mask
    cells = np.argwhere(inflated)
    for _ in range(20):
        a, b = (tuple(int(v) for v in cells[i]) for i in rng.integers(0, len(cells), 2))
        expected = _reference_length(inflated, a, b)
        if math.isinf(expected):
            assert not planner.connected(a, b)
            continue
        path = planner.plan(a, b)
        assert path.length_cells == pytest.approx(expected, abs=1e-9)
        _assert_valid_path(planner, path, a, b)
