"""``hallfleet`` command line: the demo hall, the fleet manager, one robot."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from hallfleet.paths import DEFAULT_FLEET, DEFAULT_SITE
from hallfleet_apps.cli_audit import audit_app
from hallfleet_apps.cli_broker import broker_app
from hallfleet_apps.cli_kb import kb_app
from hallfleet_apps.cli_map import map_app

app = typer.Typer(
    help="HallFleet: document delivery and guidance robots for a government service hall.",
    no_args_is_help=True,
    add_completion=False,
)
fleet_app = typer.Typer(help="The fleet manager.", no_args_is_help=True)
robot_app = typer.Typer(help="What runs on one robot.", no_args_is_help=True)
app.add_typer(fleet_app, name="fleet")
app.add_typer(robot_app, name="robot")
app.add_typer(map_app, name="map")
app.add_typer(broker_app, name="broker")
app.add_typer(kb_app, name="kb")
app.add_typer(audit_app, name="audit")

DataDir = Annotated[Path, typer.Option("--data-dir", help="where the SQLite file, logs and speech WAVs go")]
MqttUrl = Annotated[
    Optional[str], typer.Option("--mqtt-url", help="external broker, e.g. mqtt://127.0.0.1:1883; default: embedded")
]
SiteDir = Annotated[Path, typer.Option("--site", help="site folder under maps/")]
FleetFile = Annotated[Path, typer.Option("--fleet", help="fleet file listing the robots")]


def _logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@app.command()
def demo(
    data_dir: DataDir = Path("data"),
    mqtt_url: MqttUrl = None,
    http_port: Annotated[int, typer.Option(help="port of the pages and API on 127.0.0.1")] = 8080,
    broker_port: Annotated[int, typer.Option(help="port of the embedded MQTT broker on 127.0.0.1")] = 18830,
    time_scale: Annotated[Optional[float], typer.Option(help="simulation speed-up (default 5, smoke 20)")] = None,
    site: SiteDir = DEFAULT_SITE,
    fleet: FleetFile = DEFAULT_FLEET,
    smoke: Annotated[
        bool, typer.Option("--smoke", help="run one delivery and one question headless, then stop")
    ] = False,
) -> None:
    """Run the demo hall: broker, fleet manager, elevators and simulated robots, until Ctrl-C."""
    from hallfleet_apps.demo import DemoOptions, run_demo

    _logging(logging.WARNING)
    options = DemoOptions(
        data_dir, site, fleet, mqtt_url, http_port, broker_port, time_scale or (20.0 if smoke else 5.0)
    )
    raise typer.Exit(run_demo(options, smoke=smoke))


@fleet_app.command("serve")
def fleet_serve(
    http_port: Annotated[int, typer.Option(help="HTTP port on 127.0.0.1")] = 8080,
    mqtt_url: MqttUrl = None,
    broker_port: Annotated[int, typer.Option(help="embedded broker port (when no --mqtt-url)")] = 18830,
    data_dir: DataDir = Path("data"),
    database_url: Annotated[Optional[str], typer.Option(help="SQLAlchemy URL; default SQLite in --data-dir")] = None,
    site: SiteDir = DEFAULT_SITE,
    fleet: FleetFile = DEFAULT_FLEET,
    time_scale: Annotated[
        float, typer.Option(help="simulated hall speed-up (queue waiting times); 1 in a real hall")
    ] = 1.0,
) -> None:
    """Serve the fleet manager (HTTP API + pages, MQTT master, embedded broker unless --mqtt-url)."""
    import uvicorn

    from fleet_api.http.app import create_app
    from fleet_api.settings import Settings

    _logging()
    settings = Settings(
        http_port=http_port,
        mqtt_url=mqtt_url,
        embedded_broker_port=broker_port,
        data_dir=data_dir,
        database_url=database_url,
        site_dir=site,
        fleet_file=fleet,
        time_scale=time_scale,
    )
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_level="warning")


@robot_app.command("run")
def robot_run(
    robot: Annotated[str, typer.Option(help="robot id from the fleet file")],
    serial_url: Annotated[str, typer.Option(help="motor base: device path, pty link or socket://host:port")],
    mqtt_url: Annotated[str, typer.Option(help="broker URL")] = "mqtt://127.0.0.1:18830",
    time_scale: Annotated[float, typer.Option(help="simulation speed-up of the base")] = 1.0,
    data_dir: DataDir = Path("data"),
    site: SiteDir = DEFAULT_SITE,
    fleet: FleetFile = DEFAULT_FLEET,
) -> None:
    """Run one robot's ROS 2 nodes (namespace /<robot>) in this process."""
    from hallfleet.fleet_file import load_fleet
    from maps.site import load_site
    from robots.runner import RobotRun, run_robot

    _logging()
    spec = load_fleet(fleet).robot(robot)
    run_robot(RobotRun(spec, serial_url, mqtt_url, time_scale, data_dir.resolve()), load_site(site))


@app.command("launch")
def launch(
    launch_file: Annotated[
        Path, typer.Argument(help="a launch file in the ROS 2 YAML format, e.g. launch/delivery_robot.launch.yaml")
    ],
    arguments: Annotated[Optional[list[str]], typer.Argument(help="launch arguments name:=value")] = None,
    log_dir: Annotated[Path, typer.Option(help="where each process's log goes")] = Path("data/launch-logs"),
) -> None:
    """Run a launch file's processes (ros2 launch is not on PyPI); Ctrl-C stops them all."""
    from hallfleet_apps.launch import LaunchFileError, load_launch, parse_overrides, run_launch

    try:
        description = load_launch(launch_file, parse_overrides(arguments or []))
    except LaunchFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(run_launch(description, log_dir))


if __name__ == "__main__":
    app()
