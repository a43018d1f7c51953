"""``hallfleet map``: check a site folder and draw its floors.

Thin adapter over maps.site / maps.render: every failure becomes one line per problem on
stderr and exit code 1, never a traceback, so a person editing building.yaml sees what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maps.site import Site, SiteError, load_site

map_app = typer.Typer(help="Check and draw building sites (maps/<site>).", no_args_is_help=True)

SiteArg = Annotated[Path, typer.Argument(help="site folder, e.g. maps/demo_hall")]


def _fail(lines: list[str]) -> typer.Exit:
    for line in lines:
        typer.echo(" ".join(line.split()), err=True)  # one physical line per problem
    return typer.Exit(1)


def _load(site_dir: Path) -> Site:
    try:
        return load_site(site_dir)
    except SiteError as exc:
        raise _fail(exc.problems) from None


def summary(site: Site) -> str:
    """The one-line OK summary of a valid site."""
    return (
        f"OK {site.folder}: {len(site.floors)} floors, {len(site.places)} places, "
        f"{len(site.waypoints)} waypoints, {len(site.lanes)} lanes, "
        f"{len(site.elevators)} elevators"
    )


@map_app.command("check")
def check(site_dir: SiteArg) -> None:
    """Validate a site; exit 1 with one 'file: field: problem' line per problem."""
    typer.echo(summary(_load(site_dir)))


@map_app.command("render")
def render(
    site_dir: SiteArg,
    floor: Annotated[int, typer.Option("--floor", help="floor level to draw")],
    out: Annotated[Path, typer.Option("-o", "--output", help="PNG file to write")],
    scale: Annotated[float, typer.Option("--scale", help="pixels per map cell")] = 1.0,
) -> None:
    """Draw one floor (walls, lanes, waypoints, places with Chinese names) to a PNG."""
    from maps.render import render_floor  # Pillow only when drawing

    if not 0.0 < scale <= 8.0:
        raise _fail([f"--scale: must be in (0, 8], got {scale}"])
    site = _load(site_dir)
    levels = [f.level for f in site.floors]
    if floor not in levels:
        raise _fail([f"--floor: {site_dir} has no floor {floor} (levels: {', '.join(str(lv) for lv in levels)})"])
    if not out.parent.is_dir():
        raise _fail([f"-o: folder '{out.parent}' does not exist"])
    try:
        render_floor(site, floor, out, scale)
    except (OSError, ValueError) as exc:  # unwritable file, unknown image extension
        raise _fail([f"-o: cannot write '{out}': {exc}"]) from None
    typer.echo(f"wrote {out} (floor {floor} of {site_dir})")
