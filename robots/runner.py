"""One robot = one process: its rclpy nodes under the namespace ``/<robot_id>``, one executor.

Parameters come from the robot type's ROS 2 parameter file (``robots/config/*.yaml``) plus what only
the fleet file and site know: where the robot starts, its serial line and its broker.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.parameter import Parameter

import hallfleet.ros_env  # noqa: F401  (loopback DDS before rclpy)
from hallfleet.fleet_file import RobotSpec
from maps.site import Site

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RobotRun:
    spec: RobotSpec
    serial_url: str
    mqtt_url: str
    time_scale: float
    data_dir: Path


def _start_parameters(run: RobotRun, site: Site) -> list[Parameter]:
    place = site.place(run.spec.home_place_id)
    return [
        Parameter("initial_x", value=float(place.pose.x_m)),
        Parameter("initial_y", value=float(place.pose.y_m)),
        Parameter("initial_yaw", value=float(place.pose.yaw_rad)),
        Parameter("map_id", value=site.floor(place.level).map_id),
        Parameter("start_node_id", value=place.waypoint_id),
        Parameter("time_scale", value=float(run.time_scale)),
        Parameter("mqtt_url", value=run.mqtt_url),
        Parameter("serial_number", value=run.spec.robot_id),
        Parameter("manufacturer", value=run.spec.manufacturer),
        Parameter("kind", value=run.spec.kind),
        Parameter("compartment_count", value=int(run.spec.compartments or 1)),
    ]


def build_nodes(run: RobotRun, site: Site, context=None) -> list:
    """Create the robot's nodes (not yet spinning)."""
    from robots.nodes.base_driver import BaseDriverNode
    from robots.nodes.navigation import NavigationNode
    from robots.nodes.vehicle_adapter import VehicleAdapterNode

    ns = run.spec.robot_id
    params = _start_parameters(run, site)
    # No parameter services: every service is an entity the Python executor walks on each wake-up,
    # and 6 per node were half of the robot's wait set (parameters still come from the YAML file).
    common = {"namespace": ns, "context": context, "start_parameter_services": False}
    nodes = [
        BaseDriverNode(run.serial_url, **common),
        NavigationNode(parameter_overrides=params, **common),
    ]
    if run.spec.kind == "delivery":
        from robots.nodes.compartments import CompartmentsNode

        nodes.append(CompartmentsNode(parameter_overrides=params, **common))
    elif run.spec.kind == "guidance":
        from robots.drivers.tts_speaker import Pyttsx3Speaker
        from robots.nodes.speech import SpeechNode

        wav_dir = run.data_dir / "speech" / ns
        wav_dir.mkdir(parents=True, exist_ok=True)
        from robots.nodes.dialogue import DialogueNode

        nodes.append(SpeechNode(Pyttsx3Speaker(), wav_dir, context=context, namespace=ns))
        from hallfleet.knowledge import effective_catalog_path

        knowledge = [Parameter("knowledge_file", value=str(effective_catalog_path(run.data_dir, site.folder)))]
        nodes.append(DialogueNode(parameter_overrides=knowledge, **common))
    nodes.append(VehicleAdapterNode(parameter_overrides=params, **common))
    return nodes


def run_robot(run: RobotRun, site: Site) -> None:
    """Spin the robot until SIGINT/SIGTERM, then tear every node down."""
    args = ["--ros-args"]
    if run.spec.config_file is not None:
        args += ["--params-file", str(run.spec.config_file)]
    rclpy.init(args=args)
    nodes = []
    try:
        nodes = build_nodes(run, site)
        executor = MultiThreadedExecutor(num_threads=4)
        for node in nodes:
            executor.add_node(node)
        log.info("robot %s up with %d nodes", run.spec.robot_id, len(nodes))
        # Nodes, site and message types are long-lived: keep full collections from walking them while
        # the control loop runs (a collection pause is a pause in steering).
        gc.collect()
        gc.freeze()
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        for node in reversed(nodes):
            node.destroy_node()
        rclpy.try_shutdown()
