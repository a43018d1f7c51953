"""The demo hall from one command: broker + fleet manager, elevators, and every robot of the fleet
file (firmware simulator behind a pty + the robot's ROS 2 process), on 127.0.0.1 only."""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from hallfleet import ros_env
from hallfleet.fleet_file import load_fleet
from hallfleet_apps.supervisor import Supervisor, interrupted_by_signals
from maps.site import load_site

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path
    site_dir: Path
    fleet_file: Path
    mqtt_url: str | None
    http_port: int
    broker_port: int
    time_scale: float
    startup_timeout_s: float = 120.0


class DemoError(RuntimeError):
    pass


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def start_hall(options: DemoOptions, supervisor: Supervisor) -> str:
    """Start every process and wait until all robots report; return the fleet manager's base URL."""
    # Children inherit loopback DDS and one ROS_DOMAIN_ID: the caller's, or a random one, so that two
    # halls on one host (robots of the same names) never see each other's topics.
    if not ros_env.DOMAIN_ID_FROM_ENVIRONMENT:
        os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 101))
    for port, what in (
        (options.http_port, "--http-port"),
        (options.broker_port if options.mqtt_url is None else 0, "--broker-port"),
    ):
        if port and not _port_free(port):
            raise DemoError(f"port {port} on 127.0.0.1 is taken: choose another with {what}")
    site = load_site(options.site_dir)
    fleet = load_fleet(options.fleet_file)
    mqtt_url = options.mqtt_url or f"mqtt://127.0.0.1:{options.broker_port}"
    data_dir = options.data_dir.resolve()
    run_dir = data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    fleet_args = [
        "-m",
        "hallfleet_apps.cli",
        "fleet",
        "serve",
        "--http-port",
        str(options.http_port),
        "--data-dir",
        str(data_dir),
        "--site",
        str(options.site_dir),
        "--fleet",
        str(options.fleet_file),
        "--time-scale",
        str(options.time_scale),
    ]
    fleet_args += ["--mqtt-url", options.mqtt_url] if options.mqtt_url else ["--broker-port", str(options.broker_port)]
    supervisor.start("fleet-manager", fleet_args)
    base_url = f"http://127.0.0.1:{options.http_port}"
    _wait_http(base_url, supervisor, options.startup_timeout_s)
    elevator_args = [
        "-m",
        "hallfleet_apps.sim.elevator",
        "--mqtt-url",
        mqtt_url,
        "--time-scale",
        str(options.time_scale),
    ]
    for elevator in site.elevators:
        elevator_args += ["--elevator", f"{elevator.id}:{','.join(str(lv) for lv in elevator.levels)}"]
    if site.elevators:  # the simulator models one car type; take the site's first
        first = site.elevators[0]
        elevator_args += [
            "--door-time-s",
            str(first.door_time_s),
            "--travel-time-per-floor-s",
            str(first.travel_time_per_floor_s),
        ]
    supervisor.start("elevators", elevator_args)
    for spec in fleet.robots:
        if spec.kind == "thirdparty":
            continue  # other makes run their own software
        link = run_dir / f"{spec.robot_id}.tty"
        supervisor.start(
            f"{spec.robot_id}-firmware",
            [
                "-m",
                "robots.sim.firmware",
                "--link",
                str(link),
                "--time-scale",
                str(options.time_scale),
                "--compartments",
                str(max(spec.compartments, 1)),
            ],
        )
        supervisor.start(
            spec.robot_id,
            [
                "-m",
                "hallfleet_apps.cli",
                "robot",
                "run",
                "--robot",
                spec.robot_id,
                "--serial-url",
                str(link),
                "--mqtt-url",
                mqtt_url,
                "--time-scale",
                str(options.time_scale),
                "--data-dir",
                str(data_dir),
                "--site",
                str(options.site_dir),
                "--fleet",
                str(options.fleet_file),
            ],
        )
    expected = {s.robot_id for s in fleet.robots if s.kind != "thirdparty"}
    _wait_robots(base_url, expected, supervisor, options.startup_timeout_s)
    return base_url


def start_queue_tickets(base_url: str, options: DemoOptions, supervisor: Supervisor) -> None:
    """The hall's queue-ticket system, simulated: tickets are issued, wait, are called (some too late)."""
    supervisor.start(
        "queue-tickets",
        ["-m", "hallfleet_apps.sim.queue_tickets", "--base-url", base_url, "--time-scale", str(options.time_scale)],
    )


def _check_alive(supervisor: Supervisor) -> None:
    dead = supervisor.dead()
    if dead:
        child = dead[0]
        tail = child.log_path.read_text(errors="replace").splitlines()[-15:]
        raise DemoError(
            f"{child.name} exited with {child.process.returncode}; last lines of {child.log_path}:\n" + "\n".join(tail)
        )


def _wait_http(base_url: str, supervisor: Supervisor, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _check_alive(supervisor)
        try:
            if httpx.get(f"{base_url}/api/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise DemoError(f"fleet manager did not answer at {base_url} within {timeout_s:.0f} s")


def _wait_robots(base_url: str, expected: set[str], supervisor: Supervisor, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    ready: set[str] = set()
    while time.monotonic() < deadline:
        _check_alive(supervisor)
        try:
            robots = httpx.get(f"{base_url}/api/robots", timeout=5.0).json()
        except httpx.HTTPError:
            robots = []  # a slow answer while everything starts: ask again
        ready = {r["id"] for r in robots if r["online"] and r["battery_pct"] is not None}
        if expected <= ready:
            return
        time.sleep(0.5)
    raise DemoError(f"robots not online within {timeout_s:.0f} s: {sorted(expected - ready)}")


def run_demo(options: DemoOptions, smoke: bool = False) -> int:
    """Run the hall until Ctrl-C (or, with ``smoke``, run the scripted check, stop, print JSON last)."""
    supervisor = Supervisor(options.data_dir / "logs")
    started = time.monotonic()
    summary: dict | None = None
    try:
        with interrupted_by_signals():
            base_url = start_hall(options, supervisor)
            start_queue_tickets(base_url, options, supervisor)
            if smoke:
                from hallfleet_apps.smoke import run_smoke

                summary = run_smoke(base_url)
                return 0 if summary["delivered"] and summary["spoken"] else 1
            _announce(base_url, options)
            while True:
                _check_alive(supervisor)
                time.sleep(1.0)
    except KeyboardInterrupt:
        return 0
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr, flush=True)
        summary = {"delivered": False, "spoken": False, "error": str(exc).splitlines()[0]}
        return 1
    finally:
        print("stopping the demo hall ...", file=sys.stderr, flush=True)
        supervisor.stop_all()
        if smoke:
            summary = summary or {"delivered": False, "spoken": False, "error": "interrupted"}
            summary["seconds"] = round(time.monotonic() - started, 1)
            print(json.dumps(summary, ensure_ascii=False), flush=True)


def _announce(base_url: str, options: DemoOptions) -> None:
    print(
        f"HallFleet demo hall is up (ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}, logs in {options.data_dir / 'logs'}):"
    )
    print(f"  clerks:      {base_url}/clerk")
    print(f"  visitors:    {base_url}/kiosk")
    print(f"  technicians: {base_url}/technician")
    print(f"  API docs:    {base_url}/docs")
    print("Press Ctrl-C to stop.", flush=True)
