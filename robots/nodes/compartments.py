"""Compartments node: PIN-checked opening and locking of a delivery robot's document compartments.

Services ``unlock_compartment`` (the robot's touch screen, or the fleet relaying it), ``lock_compartment``
and ``prepare_handover`` (the vehicle adapter, from order actions). Lock coils are driven through the
base driver's ``lock_command`` topic; every compartment's state is published on ``compartments``.
"""

from __future__ import annotations

import threading

from hall_interfaces.msg import CompartmentState, LockCommand
from hall_interfaces.srv import LockCompartment, PrepareHandover, UnlockCompartment
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

import hallfleet.ros_env  # noqa: F401  (loopback DDS before rclpy)
from robots.core.compartments import Compartment, CompartmentBank, CompartmentError, HandoverKind


class CompartmentsNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("compartments", **kwargs)
        self.declare_parameter(
            "compartment_count", 4, ParameterDescriptor(description="lockable compartments on this robot")
        )
        self.bank = CompartmentBank(self.get_parameter("compartment_count").value)
        self._lock = threading.Lock()
        self._state_pub = self.create_publisher(CompartmentState, "compartments", 10)
        self._lock_pub = self.create_publisher(LockCommand, "lock_command", 10)
        self.create_service(UnlockCompartment, "unlock_compartment", self._on_unlock)
        self.create_service(LockCompartment, "lock_compartment", self._on_lock)
        self.create_service(PrepareHandover, "prepare_handover", self._on_prepare)
        self.create_timer(1.0, self.publish_all)

    def _on_unlock(self, request, response):
        with self._lock:
            try:
                c = self.bank.unlock(request.compartment_id, request.pin)
                response.success, response.message = True, f"compartment {c.compartment_id} open"
                self._drive_lock(c)
            except CompartmentError as exc:
                response.success, response.message = False, str(exc)
                self.get_logger().warning(str(exc))
            c = self.bank.compartments.get(request.compartment_id)
            response.failed_pin_attempts = c.failed_pin_attempts if c else 0
            if c:
                self._publish(c)
        return response

    def _on_lock(self, request, response):
        with self._lock:
            try:
                c = self.bank.close(request.compartment_id, request.occupied)
                response.success, response.message = True, f"compartment {c.compartment_id} locked"
                self._drive_lock(c)
                self._publish(c)
            except CompartmentError as exc:
                response.success, response.message = False, str(exc)
        return response

    def _on_prepare(self, request, response):
        with self._lock:
            try:
                self.bank.prepare(
                    request.compartment_id, request.delivery_id, HandoverKind(request.kind), request.pin_hash
                )
                response.success, response.message = True, "ready"
                self._publish(self.bank.get(request.compartment_id))
            except (CompartmentError, ValueError) as exc:
                response.success, response.message = False, str(exc)
        return response

    def _drive_lock(self, c: Compartment) -> None:
        self._lock_pub.publish(LockCommand(compartment_id=c.compartment_id, locked=c.locked))

    def _publish(self, c: Compartment) -> None:
        msg = CompartmentState()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.compartment_id, msg.locked, msg.occupied = c.compartment_id, c.locked, c.occupied
        msg.delivery_id, msg.failed_pin_attempts, msg.blocked = c.delivery_id, c.failed_pin_attempts, c.blocked
        self._state_pub.publish(msg)

    def publish_all(self) -> None:
        with self._lock:
            for c in self.bank.compartments.values():
                self._publish(c)


def main(args: list[str] | None = None) -> None:
    from robots.nodes.spin import run_node

    run_node(CompartmentsNode, args)


if __name__ == "__main__":
    main()
