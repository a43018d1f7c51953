"""Run one node alone in its process (what a launch file starts): the ROS 2 ``main`` convention."""

from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node

import hallfleet.ros_env  # noqa: F401  (loopback DDS before rclpy)


def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> None:
    """Init rclpy with the command line (``--ros-args -p ... -r __ns:=...``), spin until SIGINT/SIGTERM."""
    rclpy.init(args=sys.argv if args is None else args)
    node = None
    try:
        node = factory()
        executor = MultiThreadedExecutor(num_threads=3)
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
