"""Occupancy maps in the ROS map_server format (YAML + PGM), read with nav2 map_server semantics.

Why our own reader: the fleet manager must not depend on ROS to know the building, and the
robots' nav2 stack reads the very same files, so both sides must agree cell for cell:

- ``image`` is relative to the YAML file's folder;
- occupancy probability p = (255 - x) / 255, or x / 255 when ``negate`` is set;
- mode trinary: occupied (100) if p > occupied_thresh, free (0) if p < free_thresh, else unknown (-1);
- ``origin`` [x, y, yaw] is the pose of the lower-left pixel, so image row 0 (the top) is the
  highest row of the grid. Like most ROS tools we store the yaw but do not rotate by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

OCCUPIED = 100
FREE = 0
UNKNOWN = -1


class MapError(ValueError):
    """A map YAML or image is missing, unreadable or inconsistent; the message names file and field."""


@dataclass(frozen=True, eq=False)
class OccupancyMap:
    """One floor's occupancy grid; ``grid[row_from_bottom, col]`` in {100, 0, -1}."""

    resolution_m: float
    origin_xy: tuple[float, float]
    width_cells: int
    height_cells: int
    grid: np.ndarray = field(repr=False)
    origin_yaw_rad: float = 0.0
    yaml_path: Path | None = None

    def xy_to_cell(self, x_m: float, y_m: float) -> tuple[int, int]:
        """Map metres -> (row_from_bottom, col); may be outside the grid (see ``in_bounds``)."""
        col = math.floor((x_m - self.origin_xy[0]) / self.resolution_m)
        row = math.floor((y_m - self.origin_xy[1]) / self.resolution_m)
        return row, col

    def cell_to_xy(self, row: int, col: int) -> tuple[float, float]:
        """Centre of cell (row_from_bottom, col) in map metres."""
        return (
            self.origin_xy[0] + (col + 0.5) * self.resolution_m,
            self.origin_xy[1] + (row + 0.5) * self.resolution_m,
        )

    def in_bounds(self, row: int, col: int) -> bool:
        return 0 <= row < self.height_cells and 0 <= col < self.width_cells

    def value_xy(self, x_m: float, y_m: float) -> int | None:
        """Cell value at a point, or None outside the map."""
        row, col = self.xy_to_cell(x_m, y_m)
        if not self.in_bounds(row, col):
            return None
        return int(self.grid[row, col])

    def is_free_xy(self, x_m: float, y_m: float, radius_m: float = 0.0) -> bool:
        """True if every cell whose centre lies within ``radius_m`` of the point is known free.

        The cell containing the point always counts. Outside the map is not free.
        """
        row, col = self.xy_to_cell(x_m, y_m)
        if not self.in_bounds(row, col) or self.grid[row, col] != FREE:
            return False
        if radius_m <= 0.0:
            return True
        reach = int(math.ceil(radius_m / self.resolution_m)) + 1
        r0, r1 = row - reach, row + reach + 1
        c0, c1 = col - reach, col + reach + 1
        if r0 < 0 or c0 < 0 or r1 > self.height_cells or c1 > self.width_cells:
            return False  # the disc would leave the map
        rows = np.arange(r0, r1)
        cols = np.arange(c0, c1)
        cy = self.origin_xy[1] + (rows + 0.5) * self.resolution_m
        cx = self.origin_xy[0] + (cols + 0.5) * self.resolution_m
        inside = (cy[:, None] - y_m) ** 2 + (cx[None, :] - x_m) ** 2 <= radius_m**2
        return bool(np.all(self.grid[r0:r1, c0:c1][inside] == FREE))

    def segment_is_free(self, x0_m: float, y0_m: float, x1_m: float, y1_m: float) -> bool:
        """True if no sample along the segment (every half cell) falls on a non-free cell."""
        length_m = math.hypot(x1_m - x0_m, y1_m - y0_m)
        n = max(2, int(math.ceil(length_m / (self.resolution_m / 2.0))) + 1)
        t = np.linspace(0.0, 1.0, n)
        xs = x0_m + (x1_m - x0_m) * t
        ys = y0_m + (y1_m - y0_m) * t
        cols = np.floor((xs - self.origin_xy[0]) / self.resolution_m).astype(int)
        rows = np.floor((ys - self.origin_xy[1]) / self.resolution_m).astype(int)
        if rows.min() < 0 or cols.min() < 0 or rows.max() >= self.height_cells or cols.max() >= self.width_cells:
            return False
        return bool(np.all(self.grid[rows, cols] == FREE))


def _read_pgm(path: Path, label: str) -> np.ndarray:
    """Read a P5 (binary) or P2 (plain) PGM into uint8 values 0..255, image row 0 first."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MapError(f"{label}: image: cannot read '{path.name}': {exc.strerror or exc}") from exc
    tokens: list[bytes] = []
    pos = 0
    # header: magic, width, height, maxval, separated by whitespace, '#' comments allowed
    while len(tokens) < 4:
        while pos < len(data) and data[pos : pos + 1].isspace():
            pos += 1
        if pos < len(data) and data[pos : pos + 1] == b"#":
            while pos < len(data) and data[pos : pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos : pos + 1].isspace() and data[pos : pos + 1] != b"#":
            pos += 1
        if start == pos:
            raise MapError(f"{label}: image: '{path.name}' has a truncated PGM header")
        tokens.append(data[start:pos])
    magic = tokens[0]
    if magic not in (b"P5", b"P2"):
        raise MapError(f"{label}: image: '{path.name}' is not a PGM (magic {magic[:2]!r}, want P5 or P2)")
    try:
        width, height, maxval = (int(t) for t in tokens[1:])
    except ValueError as exc:
        raise MapError(f"{label}: image: '{path.name}' has a malformed PGM header") from exc
    if width <= 0 or height <= 0 or not 0 < maxval < 65536:
        raise MapError(f"{label}: image: '{path.name}' has bad size {width}x{height}/{maxval}")
    count = width * height
    if magic == b"P5":
        pos += 1  # exactly one whitespace byte after maxval
        dtype = np.dtype(">u2") if maxval > 255 else np.dtype("u1")
        raw = data[pos : pos + count * dtype.itemsize]
        if len(raw) < count * dtype.itemsize:
            raise MapError(
                f"{label}: image: '{path.name}' is truncated ({len(raw) // dtype.itemsize} of {count} pixels)"
            )
        values = np.frombuffer(raw, dtype=dtype).astype(np.float64)
    else:
        words = data[pos:].split()
        if len(words) < count:
            raise MapError(f"{label}: image: '{path.name}' is truncated ({len(words)} of {count} pixels)")
        try:
            values = np.array([int(w) for w in words[:count]], dtype=np.float64)
        except ValueError as exc:
            raise MapError(f"{label}: image: '{path.name}' has a non-numeric pixel") from exc
    if maxval != 255:
        values = np.round(values * 255.0 / maxval)
    return np.clip(values, 0, 255).astype(np.uint8).reshape(height, width)


def _number(doc: dict, key: str, label: str) -> float:
    if key not in doc:
        raise MapError(f"{label}: {key}: missing")
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MapError(f"{label}: {key}: expected a number, got {value!r}")
    return float(value)


def load_occupancy_map(yaml_path: str | Path) -> OccupancyMap:
    """Load a map_server YAML and its image; raise MapError naming the file and field."""
    path = Path(yaml_path)
    label = path.name
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MapError(f"{label}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise MapError(f"{label}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise MapError(f"{label}: expected a mapping at the top level")

    image = doc.get("image")
    if not isinstance(image, str) or not image:
        raise MapError(f"{label}: image: missing or not a file name")
    resolution_m = _number(doc, "resolution", label)
    if resolution_m <= 0:
        raise MapError(f"{label}: resolution: must be > 0, got {resolution_m}")
    origin = doc.get("origin")
    if (
        not isinstance(origin, list)
        or len(origin) != 3
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in origin)
    ):
        raise MapError(f"{label}: origin: expected [x, y, yaw], got {origin!r}")
    occupied_thresh = _number(doc, "occupied_thresh", label)
    free_thresh = _number(doc, "free_thresh", label)
    if not 0.0 <= free_thresh <= occupied_thresh <= 1.0:
        raise MapError(
            f"{label}: free_thresh: need 0 <= free_thresh ({free_thresh}) <= occupied_thresh ({occupied_thresh}) <= 1"
        )
    negate = doc.get("negate", 0)
    if negate not in (0, 1, True, False):
        raise MapError(f"{label}: negate: expected 0 or 1, got {negate!r}")
    mode = doc.get("mode", "trinary")
    if mode != "trinary":
        raise MapError(f"{label}: mode: only 'trinary' is supported, got {mode!r}")

    image_path = Path(image) if Path(image).is_absolute() else path.parent / image
    pixels = _read_pgm(image_path, label)
    x = pixels.astype(np.float64)
    p = x / 255.0 if negate else (255.0 - x) / 255.0
    grid = np.full(pixels.shape, UNKNOWN, dtype=np.int8)
    grid[p > occupied_thresh] = OCCUPIED
    grid[p < free_thresh] = FREE
    grid = np.ascontiguousarray(grid[::-1, :])  # image row 0 is the top; grid row 0 the bottom
    grid.setflags(write=False)
    height, width = pixels.shape
    return OccupancyMap(
        resolution_m=resolution_m,
        origin_xy=(float(origin[0]), float(origin[1])),
        width_cells=width,
        height_cells=height,
        grid=grid,
        origin_yaw_rad=float(origin[2]),
        yaml_path=path,
    )
