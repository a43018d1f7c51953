"""Optimal 8-connected grid planning on an occupancy map inflated by the robot's radius.

Why this exists: the route planner needs the *physical* shortest clear path on a floor (for the
trip's lower bound) and robots need free-space paths, many times per second on maps of a million
cells. Pure Python A* takes seconds there, so the search is Jump Point Search compiled with numba
(``cache=True``: compiled once per machine, then loaded from ``__pycache__``), with per-map
straight-jump tables (JPS+ style) so that a straight scan is one lookup.

Semantics, fixed so that every planner and reference agrees cell for cell:

- moves go to the 8 neighbours and cost 1 (straight) or sqrt(2) (diagonal) cells;
- no corner cutting: a diagonal move needs both orthogonal neighbours free as well;
- a cell is blocked when the centre of an occupied or unknown cell (or of a cell outside the map)
  lies within ``radius_m`` of its centre (``<=``, like ``OccupancyMap.is_free_xy``). Clearance
  comes from one exact Euclidean distance transform per map;
- connected components (4-connected: with the corner rule, 8-connectivity adds nothing) are
  labelled once per map, so an unreachable goal is reported without searching.

JPS returns the same path *length* as A*; the cells of the path may differ among equal-length
optima.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
from numba import njit

from maps.occupancy import FREE, OccupancyMap

__all__ = ["GridPath", "GridPlanner", "NoGridPathError", "octile_cells"]

SQRT2 = math.sqrt(2.0)
_BIG = 1.0e20


class NoGridPathError(Exception):
    """No clear 8-connected path joins two cells (one end blocked, or they are not connected)."""


@dataclass(frozen=True)
class GridPath:
    """Every cell of an optimal path, start and goal included, as ``(row_from_bottom, col)``."""

    cells: np.ndarray  # shape (n, 2), int64
    length_cells: float
    length_m: float


def octile_cells(dr: int, dc: int) -> float:
    """8-connected distance in cells between two cells with no obstacles in between."""
    a, b = abs(dr), abs(dc)
    return min(a, b) * SQRT2 + abs(a - b)


# --------------------------------------------------------------------------- compiled kernels


@njit(cache=True)
def _edt_1d(f, n, d, v, z):  # pragma: no cover - compiled
    """Squared distance transform of one line (Felzenszwalb & Huttenlocher)."""
    k = 0
    v[0] = 0
    z[0] = -_BIG
    z[1] = _BIG
    for q in range(1, n):
        s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2.0 * q - 2.0 * v[k])
        while s <= z[k]:
            k -= 1
            s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2.0 * q - 2.0 * v[k])
        k += 1
        v[k] = q
        z[k] = s
        z[k + 1] = _BIG
    k = 0
    for q in range(n):
        while z[k + 1] < q:
            k += 1
        d[q] = (q - v[k]) * (q - v[k]) + f[v[k]]


@njit(cache=True)
def _squared_edt(obstacle):  # pragma: no cover - compiled
    """Squared Euclidean distance (in cells) from every cell centre to the nearest obstacle."""
    rows, cols = obstacle.shape
    n = max(rows, cols)
    out = np.empty((rows, cols), np.float64)
    f = np.empty(n, np.float64)
    d = np.empty(n, np.float64)
    v = np.empty(n, np.int64)
    z = np.empty(n + 1, np.float64)
    for c in range(cols):
        for r in range(rows):
            f[r] = 0.0 if obstacle[r, c] else _BIG
        _edt_1d(f, rows, d, v, z)
        for r in range(rows):
            out[r, c] = d[r]
    for r in range(rows):
        for c in range(cols):
            f[c] = out[r, c]
        _edt_1d(f, cols, d, v, z)
        for c in range(cols):
            out[r, c] = d[c]
    return out


@njit(cache=True)
def _label_components(free):  # pragma: no cover - compiled
    """4-connected component id per free cell (0 for blocked cells)."""
    rows, cols = free.shape
    labels = np.zeros((rows, cols), np.int32)
    stack = np.empty(rows * cols, np.int64)
    current = 0
    for r0 in range(rows):
        for c0 in range(cols):
            if free[r0, c0] == 0 or labels[r0, c0] != 0:
                continue
            current += 1
            labels[r0, c0] = current
            top = 0
            stack[top] = r0 * cols + c0
            top += 1
            while top > 0:
                top -= 1
                node = stack[top]
                r = node // cols
                c = node % cols
                for k in range(4):
                    nr = r + (1 if k == 0 else (-1 if k == 1 else 0))
                    nc = c + (1 if k == 2 else (-1 if k == 3 else 0))
                    if 0 <= nr < rows and 0 <= nc < cols:
                        if free[nr, nc] != 0 and labels[nr, nc] == 0:
                            labels[nr, nc] = current
                            stack[top] = nr * cols + nc
                            top += 1
    return labels


@njit(cache=True)
def _octile(dr, dc):  # pragma: no cover - compiled
    a = abs(dr)
    b = abs(dc)
    if a < b:
        return a * SQRT2 + (b - a)
    return b * SQRT2 + (a - b)


@njit(cache=True)
def _jump_tables(free):  # pragma: no cover - compiled
    """Per cell and straight direction (0: +col, 1: -col, 2: +row, 3: -row): distance k > 0 to
    the first jump point (a cell with a forced neighbour) a scan would stop at, or -m (m >= 0)
    when the scan runs m free cells into a wall without one. Goal-independent (JPS+ style), so
    a straight scan is one lookup instead of a walk."""
    rows, cols = free.shape
    table = np.zeros((4, rows, cols), np.int32)
    for r in range(1, rows - 1):
        for c in range(cols - 2, 0, -1):  # moving +col: next cell (r, c + 1)
            n = c + 1
            if free[r, n] == 0:
                table[0, r, c] = 0
            elif (free[r - 1, n] != 0 and free[r - 1, c] == 0) or (free[r + 1, n] != 0 and free[r + 1, c] == 0):
                table[0, r, c] = 1
            else:
                k = table[0, r, n]
                table[0, r, c] = k + 1 if k > 0 else k - 1
        for c in range(1, cols - 1):  # moving -col: next cell (r, c - 1)
            n = c - 1
            if free[r, n] == 0:
                table[1, r, c] = 0
            elif (free[r - 1, n] != 0 and free[r - 1, c] == 0) or (free[r + 1, n] != 0 and free[r + 1, c] == 0):
                table[1, r, c] = 1
            else:
                k = table[1, r, n]
                table[1, r, c] = k + 1 if k > 0 else k - 1
    for r in range(rows - 2, 0, -1):  # moving +row: next cell (r + 1, c)
        n = r + 1
        for c in range(1, cols - 1):
            if free[n, c] == 0:
                table[2, r, c] = 0
            elif (free[n, c - 1] != 0 and free[r, c - 1] == 0) or (free[n, c + 1] != 0 and free[r, c + 1] == 0):
                table[2, r, c] = 1
            else:
                k = table[2, n, c]
                table[2, r, c] = k + 1 if k > 0 else k - 1
    for r in range(1, rows - 1):  # moving -row: next cell (r - 1, c)
        n = r - 1
        for c in range(1, cols - 1):
            if free[n, c] == 0:
                table[3, r, c] = 0
            elif (free[n, c - 1] != 0 and free[r, c - 1] == 0) or (free[n, c + 1] != 0 and free[r, c + 1] == 0):
                table[3, r, c] = 1
            else:
                k = table[3, n, c]
                table[3, r, c] = k + 1 if k > 0 else k - 1
    return table


@njit(cache=True)
def _jump_straight(table, r, c, dr, dc, gr, gc):  # pragma: no cover - compiled
    """Straight scan from (r, c): the goal if the scan passes it, else the first jump point, else
    (-1, -1) when the scan runs into a wall."""
    if dr == 0:
        k = table[0 if dc > 0 else 1, r, c]
        if r == gr:
            to_goal = (gc - c) * dc
            if 0 < to_goal <= abs(k):
                return gr, gc
        if k > 0:
            return r, c + dc * k
        return -1, -1
    k = table[2 if dr > 0 else 3, r, c]
    if c == gc:
        to_goal = (gr - r) * dr
        if 0 < to_goal <= abs(k):
            return gr, gc
    if k > 0:
        return r + dr * k, c
    return -1, -1


@njit(cache=True)
def _jump(free, table, r, c, dr, dc, gr, gc):  # pragma: no cover - compiled
    """Jump from (r, c) in direction (dr, dc); diagonal steps never cut a corner."""
    if dr == 0 or dc == 0:
        return _jump_straight(table, r, c, dr, dc, gr, gc)
    while True:
        if free[r + dr, c] == 0 or free[r, c + dc] == 0 or free[r + dr, c + dc] == 0:
            return -1, -1
        r += dr
        c += dc
        if r == gr and c == gc:
            return r, c
        jr, _jc = _jump_straight(table, r, c, 0, dc, gr, gc)
        if jr >= 0:
            return r, c
        jr, _jc = _jump_straight(table, r, c, dr, 0, gr, gc)
        if jr >= 0:
            return r, c


@njit(cache=True)
def _heap_less(hf, hh, i, j):  # pragma: no cover - compiled
    return hf[i] < hf[j] or (hf[i] == hf[j] and hh[i] < hh[j])


@njit(cache=True)
def _heap_swap(hf, hh, hn, i, j):  # pragma: no cover - compiled
    hf[i], hf[j] = hf[j], hf[i]
    hh[i], hh[j] = hh[j], hh[i]
    hn[i], hn[j] = hn[j], hn[i]


@njit(cache=True)
def _sign(x):  # pragma: no cover - compiled
    return (x > 0) - (x < 0)


@njit(cache=True)
def _jps(free, table, sr, sc, gr, gc, g, parent, seen, closed, stamp):  # pragma: no cover - compiled
    """Jump Point Search on a padded grid (border cells blocked). Returns (cells, length)."""
    cols = free.shape[1]
    cap = 1024
    hf = np.empty(cap, np.float64)
    hh = np.empty(cap, np.float64)
    hn = np.empty(cap, np.int64)
    dirs = np.empty((8, 2), np.int64)
    size = 0
    s = sr * cols + sc
    goal = gr * cols + gc
    g[s] = 0.0
    seen[s] = stamp
    parent[s] = -1
    h0 = _octile(gr - sr, gc - sc)
    hf[0] = h0
    hh[0] = h0
    hn[0] = s
    size = 1
    found = False
    while size > 0:
        node = hn[0]
        size -= 1
        if size > 0:
            hf[0] = hf[size]
            hh[0] = hh[size]
            hn[0] = hn[size]
            i = 0
            while True:
                left = 2 * i + 1
                if left >= size:
                    break
                m = left
                if left + 1 < size and _heap_less(hf, hh, left + 1, left):
                    m = left + 1
                if _heap_less(hf, hh, m, i):
                    _heap_swap(hf, hh, hn, m, i)
                    i = m
                else:
                    break
        if closed[node] == stamp:
            continue
        closed[node] = stamp
        if node == goal:
            found = True
            break
        r = node // cols
        c = node % cols
        p = parent[node]
        n = 0
        if p < 0:
            for ddr in range(-1, 2):
                for ddc in range(-1, 2):
                    if ddr != 0 or ddc != 0:
                        dirs[n, 0] = ddr
                        dirs[n, 1] = ddc
                        n += 1
        else:
            dr = _sign(r - p // cols)
            dc = _sign(c - p % cols)
            if dr != 0 and dc != 0:
                dirs[0, 0] = dr
                dirs[0, 1] = 0
                dirs[1, 0] = 0
                dirs[1, 1] = dc
                dirs[2, 0] = dr
                dirs[2, 1] = dc
                n = 3
            elif dr == 0:
                dirs[0, 0] = 0
                dirs[0, 1] = dc
                n = 1
                for side in (-1, 1):
                    if free[r + side, c] != 0:
                        dirs[n, 0] = side
                        dirs[n, 1] = 0
                        dirs[n + 1, 0] = side
                        dirs[n + 1, 1] = dc
                        n += 2
            else:
                dirs[0, 0] = dr
                dirs[0, 1] = 0
                n = 1
                for side in (-1, 1):
                    if free[r, c + side] != 0:
                        dirs[n, 0] = 0
                        dirs[n, 1] = side
                        dirs[n + 1, 0] = dr
                        dirs[n + 1, 1] = side
                        n += 2
        gnode = g[node]
        for k in range(n):
            jr, jc = _jump(free, table, r, c, dirs[k, 0], dirs[k, 1], gr, gc)
            if jr < 0:
                continue
            j = jr * cols + jc
            if closed[j] == stamp:
                continue
            ng = gnode + _octile(jr - r, jc - c)
            if seen[j] != stamp or ng < g[j]:
                seen[j] = stamp
                g[j] = ng
                parent[j] = node
                h = _octile(gr - jr, gc - jc)
                if size == cap:
                    cap *= 2
                    nf = np.empty(cap, np.float64)
                    nh = np.empty(cap, np.float64)
                    nn = np.empty(cap, np.int64)
                    nf[:size] = hf[:size]
                    nh[:size] = hh[:size]
                    nn[:size] = hn[:size]
                    hf = nf
                    hh = nh
                    hn = nn
                hf[size] = ng + h
                hh[size] = h
                hn[size] = j
                i = size
                size += 1
                while i > 0:
                    up = (i - 1) >> 1
                    if _heap_less(hf, hh, i, up):
                        _heap_swap(hf, hh, hn, i, up)
                        i = up
                    else:
                        break
    if not found:
        return np.empty((0, 2), np.int64), -1.0
    # jump points goal -> start, then every cell in between (each leg is straight or diagonal)
    count = 0
    node = goal
    while node >= 0:
        count += 1
        node = parent[node] if node != s else -1
    jumps = np.empty(count, np.int64)
    node = goal
    for i in range(count - 1, -1, -1):
        jumps[i] = node
        node = parent[node] if node != s else -1
    total = 1
    for i in range(1, count):
        a = jumps[i - 1]
        b = jumps[i]
        total += max(abs(b // cols - a // cols), abs(b % cols - a % cols))
    cells = np.empty((total, 2), np.int64)
    cells[0, 0] = s // cols - 1
    cells[0, 1] = s % cols - 1
    k = 1
    length = 0.0
    for i in range(1, count):
        ar = jumps[i - 1] // cols
        ac = jumps[i - 1] % cols
        br = jumps[i] // cols
        bc = jumps[i] % cols
        dr = _sign(br - ar)
        dc = _sign(bc - ac)
        steps = max(abs(br - ar), abs(bc - ac))
        length += steps * (SQRT2 if (dr != 0 and dc != 0) else 1.0)
        for _ in range(steps):
            ar += dr
            ac += dc
            cells[k, 0] = ar - 1
            cells[k, 1] = ac - 1
            k += 1
    return cells, length


# --------------------------------------------------------------------------- the planner


class GridPlanner:
    """Planner for one floor and one robot radius; build once per map, query many times.

    Queries are serialised by a lock (the search reuses per-map scratch arrays to avoid
    allocating a million-cell array per query).
    """

    def __init__(
        self,
        free: np.ndarray,
        resolution_m: float = 1.0,
        origin_xy: tuple[float, float] = (0.0, 0.0),
        radius_m: float = 0.0,
    ) -> None:
        """``free[row_from_bottom, col]`` is True where the map is known free (before inflation)."""
        free = np.asarray(free, dtype=bool)
        if free.ndim != 2 or free.size == 0:
            raise ValueError(f"free mask must be a non-empty 2-D array, got shape {free.shape}")
        if resolution_m <= 0:
            raise ValueError(f"resolution_m must be > 0, got {resolution_m}")
        if radius_m < 0:
            raise ValueError(f"radius_m must be >= 0, got {radius_m}")
        self.resolution_m = float(resolution_m)
        self.origin_xy = (float(origin_xy[0]), float(origin_xy[1]))
        self.radius_m = float(radius_m)
        self.height_cells, self.width_cells = free.shape
        padded_obstacle = np.ones((free.shape[0] + 2, free.shape[1] + 2), dtype=np.bool_)
        padded_obstacle[1:-1, 1:-1] = ~free  # outside the map counts as an obstacle
        self._sq_clearance_cells = _squared_edt(padded_obstacle)
        limit = (self.radius_m / self.resolution_m) ** 2 + 1e-9
        padded_free = (self._sq_clearance_cells > limit).astype(np.uint8)
        padded_free[0, :] = padded_free[-1, :] = 0
        padded_free[:, 0] = padded_free[:, -1] = 0
        self._free = padded_free
        self._labels = _label_components(padded_free)
        self._jumps = _jump_tables(padded_free)
        n = padded_free.size
        self._g = np.zeros(n, np.float64)
        self._parent = np.full(n, -1, np.int64)
        self._seen = np.zeros(n, np.int32)
        self._closed = np.zeros(n, np.int32)
        self._stamp = 0
        self._lock = threading.Lock()

    @classmethod
    def from_occupancy(cls, occupancy: OccupancyMap, radius_m: float) -> GridPlanner:
        """Planner for a floor map: only known-free cells count (unknown blocks like a wall)."""
        return cls(occupancy.grid == FREE, occupancy.resolution_m, occupancy.origin_xy, radius_m)

    # ------------------------------------------------------------------ queries

    @property
    def free_mask(self) -> np.ndarray:
        """Cells a robot centre may occupy (after inflation); a copy, ``[row_from_bottom, col]``."""
        return self._free[1:-1, 1:-1].astype(bool)

    def is_free(self, row: int, col: int) -> bool:
        if not (0 <= row < self.height_cells and 0 <= col < self.width_cells):
            return False
        return bool(self._free[row + 1, col + 1])

    def clearance_m(self, row: int, col: int) -> float:
        """Distance from the cell centre to the nearest non-free cell centre (0 outside the map)."""
        if not (0 <= row < self.height_cells and 0 <= col < self.width_cells):
            return 0.0
        return math.sqrt(self._sq_clearance_cells[row + 1, col + 1]) * self.resolution_m

    def xy_to_cell(self, x_m: float, y_m: float) -> tuple[int, int]:
        return (
            math.floor((y_m - self.origin_xy[1]) / self.resolution_m),
            math.floor((x_m - self.origin_xy[0]) / self.resolution_m),
        )

    def cell_to_xy(self, row: int, col: int) -> tuple[float, float]:
        return (
            self.origin_xy[0] + (col + 0.5) * self.resolution_m,
            self.origin_xy[1] + (row + 0.5) * self.resolution_m,
        )

    def connected(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        """True if both cells are free and a clear path joins them."""
        if not (self.is_free(*a) and self.is_free(*b)):
            return False
        return bool(self._labels[a[0] + 1, a[1] + 1] == self._labels[b[0] + 1, b[1] + 1])

    def reachable_mask(self, cell: tuple[int, int]) -> np.ndarray:
        """Cells a robot starting at ``cell`` can reach (all False if the cell is blocked)."""
        if not self.is_free(*cell):
            return np.zeros((self.height_cells, self.width_cells), dtype=bool)
        label = self._labels[cell[0] + 1, cell[1] + 1]
        return self._labels[1:-1, 1:-1] == label

    def segment_is_clear_xy(self, x0_m: float, y0_m: float, x1_m: float, y1_m: float) -> bool:
        """True if every sample along the segment (every half cell) lies on a free, inflated cell."""
        length_m = math.hypot(x1_m - x0_m, y1_m - y0_m)
        n = max(2, int(math.ceil(length_m / (self.resolution_m / 2.0))) + 1)
        t = np.linspace(0.0, 1.0, n)
        cols = np.floor((x0_m + (x1_m - x0_m) * t - self.origin_xy[0]) / self.resolution_m)
        rows = np.floor((y0_m + (y1_m - y0_m) * t - self.origin_xy[1]) / self.resolution_m)
        rows = rows.astype(np.int64) + 1
        cols = cols.astype(np.int64) + 1
        inside = (rows >= 1) & (cols >= 1) & (rows <= self.height_cells) & (cols <= self.width_cells)
        if not bool(np.all(inside)):
            return False
        return bool(np.all(self._free[rows, cols] != 0))

    def plan(self, start: tuple[int, int], goal: tuple[int, int]) -> GridPath:
        """Optimal path between two cells ``(row_from_bottom, col)``; NoGridPathError if none."""
        (sr, sc), (gr, gc) = (int(start[0]), int(start[1])), (int(goal[0]), int(goal[1]))
        for what, (r, c) in (("start", (sr, sc)), ("goal", (gr, gc))):
            if not self.is_free(r, c):
                raise NoGridPathError(
                    f"no clear path from {self._describe(sr, sc)} to {self._describe(gr, gc)}: "
                    f"{what} is {self._why_blocked(r, c)}"
                )
        if not self.connected((sr, sc), (gr, gc)):
            raise NoGridPathError(
                f"no clear path from {self._describe(sr, sc)} to {self._describe(gr, gc)}: "
                f"they are not connected for radius {self.radius_m:.2f} m"
            )
        with self._lock:
            self._stamp += 1
            if self._stamp >= 2**31 - 1:
                self._seen[:] = 0
                self._closed[:] = 0
                self._stamp = 1
            cells, length = _jps(
                self._free,
                self._jumps,
                sr + 1,
                sc + 1,
                gr + 1,
                gc + 1,
                self._g,
                self._parent,
                self._seen,
                self._closed,
                self._stamp,
            )
        if length < 0:  # cannot happen for connected cells; kept as a guard
            raise NoGridPathError(f"no clear path from {self._describe(sr, sc)} to {self._describe(gr, gc)}")
        return GridPath(cells=cells, length_cells=float(length), length_m=float(length) * self.resolution_m)

    def plan_xy(self, start_xy: tuple[float, float], goal_xy: tuple[float, float]) -> GridPath:
        """Optimal path between the cells holding two points in map metres."""
        return self.plan(self.xy_to_cell(*start_xy), self.xy_to_cell(*goal_xy))

    # ------------------------------------------------------------------ messages

    def _describe(self, row: int, col: int) -> str:
        x_m, y_m = self.cell_to_xy(row, col)
        return f"({x_m:.2f}, {y_m:.2f}) m [cell row {row}, col {col}]"

    def _why_blocked(self, row: int, col: int) -> str:
        if not (0 <= row < self.height_cells and 0 <= col < self.width_cells):
            return "outside the map"
        clearance = self.clearance_m(row, col)
        if clearance == 0.0:
            return "in a wall or unknown space"
        return f"only {clearance:.2f} m from a wall or unknown space (robot radius {self.radius_m:.2f} m)"


def _warm_up() -> None:
    """Compile (or load from the numba cache) every kernel once, at import."""
    free = np.ones((6, 6), dtype=bool)
    free[2, 1:5] = False
    GridPlanner(free, radius_m=0.0).plan((0, 0), (5, 5))


_warm_up()
