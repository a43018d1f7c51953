"""Draw one floor of a site (map, lanes, waypoints, places with Chinese names) to a PNG.

For people: checking a site by eye is the fastest way to see a door in the wrong wall.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from maps.occupancy import FREE, OCCUPIED
from maps.site import Place, Site

CJK_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)

KIND_COLOURS = {
    "service_window": (30, 110, 220),
    "pickup_window": (0, 150, 150),
    "department": (200, 60, 40),
    "waiting_zone": (230, 150, 0),
    "charging_dock": (20, 160, 40),
    "elevator_lobby": (150, 60, 190),
    "parking": (110, 110, 110),
    "queue_ticket_area": (220, 0, 120),
}


def _font(size_px: int) -> tuple[ImageFont.ImageFont | ImageFont.FreeTypeFont, bool]:
    """A font and whether it has Chinese glyphs; without a CJK font, labels fall back to English."""
    for path in CJK_FONT_PATHS:
        if Path(path).exists():
            try:
                return ImageFont.truetype(path, size_px), True
            except OSError:  # unreadable or not a font: try the next one
                continue
    return ImageFont.load_default(size_px), False


def _label(place: Place, chinese: bool = True) -> str:
    """Short labels where places are dense (windows: the window code only)."""
    name = (place.name_zh if chinese else place.name_en) or place.id
    code = name.split()[-1] if name.split() else place.id
    if place.kind == "service_window":
        return code
    if place.kind == "pickup_window":
        return ("出件" if chinese else "Pickup ") + code
    return name


def render_floor(site: Site, level: int, path_png: str | Path, scale: float = 1.0) -> Path:
    """Write a PNG of floor ``level``; one map cell is ``scale`` pixels."""
    out = Path(path_png)
    floor_image(site, level, scale).save(out)
    return out


def floor_png(site: Site, level: int, scale: float = 1.0) -> bytes:
    """The same picture as PNG bytes (the technician page's floor plans)."""
    buffer = io.BytesIO()
    floor_image(site, level, scale).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def floor_image(site: Site, level: int, scale: float = 1.0) -> Image.Image:
    """Floor ``level`` with walls, lanes, waypoints and named places; one map cell is ``scale`` pixels."""
    floor = site.floor(level)
    grid = floor.map.grid[::-1, :]  # image row 0 is the top
    rgb = np.full(grid.shape + (3,), 205, dtype=np.uint8)  # unknown: grey
    rgb[grid == FREE] = (250, 250, 246)
    rgb[grid == OCCUPIED] = (40, 40, 40)
    image = Image.fromarray(rgb, "RGB")
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    res = floor.map.resolution_m / scale
    ox, oy = floor.map.origin_xy

    def px(x_m: float, y_m: float) -> tuple[float, float]:
        return (x_m - ox) / res, image.height - (y_m - oy) / res

    on_floor = {w.id: w for w in site.waypoints_on(level)}
    for lane in site.lanes_on(level):
        a, b = on_floor[lane.from_id], on_floor[lane.to_id]
        colour = (200, 90, 90) if lane.one_way else (120, 170, 230)
        draw.line([px(a.x_m, a.y_m), px(b.x_m, b.y_m)], fill=colour, width=3)
    for w in on_floor.values():
        x, y = px(w.x_m, w.y_m)
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(60, 90, 160))

    (small, chinese), (big, _) = _font(12), _font(18)
    for place in (p for p in site.places if p.level == level):
        x, y = px(place.pose.x_m, place.pose.y_m)
        colour = KIND_COLOURS.get(place.kind, (0, 0, 0))
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=colour, outline=(0, 0, 0))
        text = _label(place, chinese)
        font = small if place.kind in ("service_window", "pickup_window", "elevator_lobby") else big
        box = draw.textbbox((0, 0), text, font=font)
        w_px, h_px = box[2] - box[0], box[3] - box[1]
        # put the label on the side away from the wall the place faces
        if place.kind == "service_window" and abs(place.pose.yaw_rad) < 0.1:
            tx, ty = x - w_px - 10, y - h_px / 2
        elif place.kind == "department":  # inside the room, beyond the marker
            ty = y - h_px - 12 if place.pose.yaw_rad > 0.1 else y + 9
            tx = x - w_px / 2
        elif place.pose.yaw_rad > 0.1:  # facing north (a counter or benches): label below
            tx, ty = x - w_px / 2, y + 9
        else:
            tx, ty = x - w_px / 2, y - h_px - 12
        tx = min(max(tx, 3), image.width - w_px - 3)
        ty = min(max(ty, 3), image.height - h_px - 5)
        draw.rectangle([tx - 2, ty - 1, tx + w_px + 2, ty + h_px + 4], fill=(255, 255, 255))
        draw.text((tx, ty - box[1]), text, font=font, fill=colour)

    if chinese:
        title = f"{site.name_zh}  {floor.name_zh} / {floor.name_en}  ({floor.map_id})"
    else:
        title = f"{site.name_en}  {floor.name_en}  ({floor.map_id})"
    box = draw.textbbox((12, 8), title, font=big)
    draw.rectangle([box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3], fill=(255, 255, 255))
    draw.text((12, 8), title, font=big, fill=(0, 0, 0))
    return image
