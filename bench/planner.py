"""Benchmark: the project's grid planner against networkx A* and a plain heapq A*.

Builds a seeded 1000 x 1000 cell office-like floor (0.05 m cells: 50 m x 50 m; outer walls,
corridors, rooms with doors, furniture), inflates it for a 0.3 m robot, draws seeded start/goal
pairs that are mutually reachable, times each planner per query, checks that all three return
paths of equal length, and prints a JSON summary as the LAST line.

    /work/main/.venv/bin/python bench/planner.py [--pairs 1000] [--seed 7] [--reference-pairs K]

The references are slow (seconds per query on a million cells), so by default they run on the
first ``--reference-pairs`` pairs only; ``paths_equal`` covers those pairs. Pass
``--reference-pairs 1000`` to compare on every pair (about 30 minutes on this machine).
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maps.grid_planner import GridPlanner  # noqa: E402
from maps.occupancy import FREE, OCCUPIED, OccupancyMap  # noqa: E402

SQRT2 = math.sqrt(2.0)
RES_M = 0.05
ROBOT_RADIUS_M = 0.3


# --------------------------------------------------------------------------- the floor


def office_floor(size_cells: int, seed: int) -> OccupancyMap:
    """Office-like floor: rows of rooms along corridors, doors, desks; seeded."""
    rng = np.random.default_rng(seed)
    m = lambda metres: int(round(metres / RES_M))  # noqa: E731
    wall = m(0.2)
    corridor = m(2.4)
    occ = np.zeros((size_cells, size_cells), dtype=bool)  # [row_from_bottom, col]
    occ[:wall, :] = occ[-wall:, :] = True
    occ[:, :wall] = occ[:, -wall:] = True

    # horizontal bands: rooms | corridor | rooms, repeated; vertical corridors join the corridors
    room_depth = m(6.0)
    band = 2 * room_depth + corridor + 2 * wall
    top = size_cells - wall
    row = wall
    corridors: list[tuple[int, int]] = []
    while row + band <= top:
        lower_rooms = (row, row + room_depth)
        corr = (row + room_depth + wall, row + room_depth + wall + corridor)
        upper_rooms = (corr[1] + wall, corr[1] + wall + room_depth)
        corridors.append(corr)
        occ[lower_rooms[1] : corr[0], :] = True  # wall between lower rooms and corridor
        occ[corr[1] : upper_rooms[0], :] = True  # wall between corridor and upper rooms
        occ[upper_rooms[1] : upper_rooms[1] + wall, :] = True  # back wall to the next band
        for rooms, door_side in ((lower_rooms, "up"), (upper_rooms, "down")):
            _rooms_along(occ, rng, rooms, door_side, wall, m)
        row = upper_rooms[1] + wall
    # whatever is left at the top is one open hall (lobby)
    for col_m in (3.0, size_cells * RES_M / 2.0, size_cells * RES_M - 3.0 - 2.4):
        c0 = m(col_m)
        occ[wall:top, c0 : c0 + corridor] = False  # vertical corridors through every band
    _furniture(occ, rng, wall, m, lobby_from_row=row)
    grid = np.where(occ, OCCUPIED, FREE).astype(np.int8)
    return OccupancyMap(RES_M, (0.0, 0.0), size_cells, size_cells, grid)


def _rooms_along(occ, rng, rooms, door_side, wall, m) -> None:
    r0, r1 = rooms
    cols = occ.shape[1]
    c = wall
    while c < cols - wall:
        width = int(rng.integers(m(3.5), m(8.0)))
        c1 = min(c + width, cols - wall)
        if c1 < cols - wall:
            occ[r0:r1, c1 : c1 + wall] = True  # partition
        door_w = m(1.0) if rng.random() < 0.7 else m(1.6)
        if c1 - c > door_w + m(0.6):
            d0 = int(rng.integers(c + m(0.3), c1 - door_w - m(0.3) + 1))
            door_rows = slice(r1, r1 + wall) if door_side == "up" else slice(r0 - wall, r0)
            occ[door_rows, d0 : d0 + door_w] = False
        c = c1 + wall


def _furniture(occ, rng, wall, m, lobby_from_row) -> None:
    rows, cols = occ.shape
    for _ in range(900):
        h, w = int(rng.integers(m(0.6), m(1.6))), int(rng.integers(m(0.6), m(2.0)))
        r, c = int(rng.integers(wall, rows - wall - h)), int(rng.integers(wall, cols - wall - w))
        pad = m(1.0)  # keep walkways: only place where a 1 m margin is all free
        if occ[max(r - pad, 0) : r + h + pad, max(c - pad, 0) : c + w + pad].any():
            continue
        occ[r : r + h, c : c + w] = True


# --------------------------------------------------------------------------- references


def heapq_astar(free: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> float:
    """Plain A* with heapq and the octile heuristic; same moves, costs and corner rule."""
    rows, cols = free.shape
    gr, gc_ = goal
    moves = [(dr, dc, SQRT2 if dr and dc else 1.0) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
    best = {start: 0.0}
    closed: set[tuple[int, int]] = set()

    def h(r: int, c: int) -> float:
        a, b = abs(r - gr), abs(c - gc_)
        return (SQRT2 - 1.0) * min(a, b) + max(a, b)

    heap = [(h(*start), 0.0, start)]
    while heap:
        _f, g, node = heapq.heappop(heap)
        if node == goal:
            return g
        if node in closed:
            continue
        closed.add(node)
        r, c = node
        for dr, dc, step in moves:
            nr, nc = r + dr, c + dc
            if not (0 <= nr < rows and 0 <= nc < cols) or not free[nr, nc]:
                continue
            if dr and dc and not (free[r + dr, c] and free[r, c + dc]):
                continue
            ng = g + step
            if ng < best.get((nr, nc), math.inf):
                best[(nr, nc)] = ng
                heapq.heappush(heap, (ng + h(nr, nc), ng, (nr, nc)))
    return math.inf


def networkx_graph(free: np.ndarray):
    """Undirected grid graph over free cells (node = row * cols + col), built once."""
    import networkx as nx

    rows, cols = free.shape
    graph = nx.Graph()
    graph.add_nodes_from((np.flatnonzero(free)).tolist())
    idx = np.arange(rows * cols).reshape(rows, cols)
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r0, r1 = max(0, -dr), rows - max(0, dr)
        c0, c1 = max(0, -dc), cols - max(0, dc)
        ok = free[r0:r1, c0:c1] & free[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        if dr and dc:  # no corner cutting
            ok &= free[r0 + dr : r1 + dr, c0:c1] & free[r0:r1, c0 + dc : c1 + dc]
        a = idx[r0:r1, c0:c1][ok]
        b = idx[r0 + dr : r1 + dr, c0 + dc : c1 + dc][ok]
        weight = SQRT2 if dr and dc else 1.0
        graph.add_weighted_edges_from(zip(a.tolist(), b.tolist(), [weight] * len(a)))
    return graph


def networkx_astar(graph, cols: int, start: tuple[int, int], goal: tuple[int, int]) -> float:
    import networkx as nx

    def h(u: int, v: int) -> float:
        a, b = abs(u // cols - v // cols), abs(u % cols - v % cols)
        return (SQRT2 - 1.0) * min(a, b) + max(a, b)

    s, g = start[0] * cols + start[1], goal[0] * cols + goal[1]
    path = nx.astar_path(graph, s, g, heuristic=h, weight="weight")
    return float(sum(graph[u][v]["weight"] for u, v in zip(path, path[1:])))


# --------------------------------------------------------------------------- running


def _pct(samples_ms: list[float], q: float) -> float | None:
    return round(float(np.percentile(samples_ms, q)), 3) if samples_ms else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=1000, help="cells per side")
    parser.add_argument(
        "--reference-pairs", type=int, default=100, help="time networkx and heapq A* on the first K pairs (default 100)"
    )
    parser.add_argument("--skip-networkx", action="store_true", help="heapq reference only")
    args = parser.parse_args(argv)
    ref_pairs = max(0, min(args.reference_pairs, args.pairs))
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    t0 = time.perf_counter()
    floor = office_floor(args.size, args.seed)
    planner = GridPlanner.from_occupancy(floor, ROBOT_RADIUS_M)
    free = planner.free_mask
    log(
        f"floor {args.size}x{args.size}: {float((floor.grid == FREE).mean()):.0%} free, "
        f"{float(free.mean()):.0%} after {ROBOT_RADIUS_M} m inflation; "
        f"map + planner build {time.perf_counter() - t0:.2f} s"
    )

    rng = np.random.default_rng(args.seed)
    anchor = tuple(int(v) for v in np.argwhere(free)[0])
    labels = planner.reachable_mask(anchor)
    # the largest component: the corridor network holds almost every free cell
    if labels.sum() < 0.5 * free.sum():
        counts = {}
        for cell in np.argwhere(free)[:: max(1, int(free.sum()) // 200)]:
            mask = planner.reachable_mask(tuple(int(v) for v in cell))
            counts[int(mask.sum())] = mask
        labels = counts[max(counts)]
    cells = np.argwhere(labels)
    pick = rng.integers(0, len(cells), size=(args.pairs, 2))
    pairs = [(tuple(int(v) for v in cells[a]), tuple(int(v) for v in cells[b])) for a, b in pick]

    for start, goal in pairs[:5]:  # warm caches; JIT compilation happened at import
        planner.plan(start, goal)
    planner_ms: list[float] = []
    planner_len: list[float] = []
    for start, goal in pairs:
        t = time.perf_counter()
        path = planner.plan(start, goal)
        planner_ms.append((time.perf_counter() - t) * 1000.0)
        planner_len.append(path.length_cells)
    log(
        f"planner: {len(pairs)} pairs, p50 {_pct(planner_ms, 50)} ms, "
        f"p99 {_pct(planner_ms, 99)} ms, max {max(planner_ms):.2f} ms"
    )

    heapq_ms: list[float] = []
    equal = True
    mismatches = 0
    for i, (start, goal) in enumerate(pairs[:ref_pairs]):
        t = time.perf_counter()
        length = heapq_astar(free, start, goal)
        heapq_ms.append((time.perf_counter() - t) * 1000.0)
        if abs(length - planner_len[i]) > 1e-6:
            equal, mismatches = False, mismatches + 1
            log(f"MISMATCH heapq pair {i} {start}->{goal}: {length} vs {planner_len[i]}")
    if heapq_ms:
        log(f"heapq A*: {len(heapq_ms)} pairs, p50 {_pct(heapq_ms, 50)} ms, mean {float(np.mean(heapq_ms)):.0f} ms")

    networkx_ms: list[float] = []
    if not args.skip_networkx and ref_pairs:
        t = time.perf_counter()
        graph = networkx_graph(free)
        gc.freeze()  # keep the collector from rescanning millions of graph objects per query
        log(
            f"networkx graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, "
            f"built in {time.perf_counter() - t:.1f} s (not timed)"
        )
        for i, (start, goal) in enumerate(pairs[:ref_pairs]):
            t = time.perf_counter()
            length = networkx_astar(graph, args.size, start, goal)
            networkx_ms.append((time.perf_counter() - t) * 1000.0)
            if abs(length - planner_len[i]) > 1e-6:
                equal, mismatches = False, mismatches + 1
                log(f"MISMATCH networkx pair {i} {start}->{goal}: {length} vs {planner_len[i]}")
        log(
            f"networkx A*: {len(networkx_ms)} pairs, p50 {_pct(networkx_ms, 50)} ms, "
            f"mean {float(np.mean(networkx_ms)):.0f} ms"
        )

    result = {
        "grid": f"{args.size}x{args.size}",
        "resolution_m": RES_M,
        "robot_radius_m": ROBOT_RADIUS_M,
        "seed": args.seed,
        "pairs": len(pairs),
        "reference_pairs": len(heapq_ms),
        "networkx_pairs": len(networkx_ms),
        "planner_p50_ms": _pct(planner_ms, 50),
        "planner_p99_ms": _pct(planner_ms, 99),
        "planner_max_ms": round(max(planner_ms), 3),
        "networkx_p50_ms": _pct(networkx_ms, 50),
        "networkx_p99_ms": _pct(networkx_ms, 99),
        "heapq_p50_ms": _pct(heapq_ms, 50),
        "heapq_p99_ms": _pct(heapq_ms, 99),
        "networkx_est_all_pairs_s": round(float(np.mean(networkx_ms)) * len(pairs) / 1000.0, 1)
        if networkx_ms
        else None,
        "heapq_est_all_pairs_s": round(float(np.mean(heapq_ms)) * len(pairs) / 1000.0, 1) if heapq_ms else None,
        "paths_equal": equal and len(heapq_ms) > 0,
        "paths_compared": len(heapq_ms),
        "mismatches": mismatches,
        "python": platform.python_version(),
    }
    print(json.dumps(result))
    return 0 if equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
