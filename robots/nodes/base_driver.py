"""ROS 2 shell around the serial motor base: odom, battery, locks, diagnostics in; cmd_vel, locks out.

Safety: ``estop`` (std_msgs/Bool, true = engage, false = reset) becomes an EstopCmd at once;
``estop_state`` (std_msgs/Bool, latched) reports whether the board holds an e-stop, whoever pressed
it. ``charge`` (std_msgs/Bool) closes or opens the dock charging relay (ChargeCmd).

Topic names are relative: the robot process puts this node in its namespace (e.g. /robot1/odom).
Each odometry frame also goes out as the TF edge odom -> base_link on ``tf`` (REP 105; /robot1/tf,
the nav2 multi-robot convention), built from the same Odometry message so frames and stamps agree.
All protocol and link logic lives in robots.core.base_protocol and robots.drivers.serial_base.
"""

import math
from typing import Any

import rclpy
import rclpy.executors
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Quaternion, Twist
from hall_interfaces.msg import LockCommand, LockStates
from nav_msgs.msg import Odometry as OdometryMsg
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import BatteryState
from std_msgs.msg import Bool
from tf2_msgs.msg import TFMessage

import hallfleet.ros_env  # noqa: F401  (loopback-only DDS, before rclpy)
from robots.core import base_protocol as bp
from robots.drivers.serial_base import SerialMotorBase
from robots.nodes.conversions import odometry_to_tf
from robots.nodes.qos import LATCHED, LATEST

_POSE_VARIANCE = 0.01
_TWIST_VARIANCE = 0.001


# ---- conversions (no node state) ----------------------------------------------------------------


def yaw_to_quaternion(yaw_rad: float) -> Quaternion:
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw_rad / 2.0), w=math.cos(yaw_rad / 2.0))


def odometry_to_msg(odom: bp.Odometry, stamp: Any, odom_frame: str, base_frame: str) -> OdometryMsg:
    msg = OdometryMsg()
    msg.header.stamp = stamp
    msg.header.frame_id = odom_frame
    msg.child_frame_id = base_frame
    msg.pose.pose.position.x = float(odom.x_m)
    msg.pose.pose.position.y = float(odom.y_m)
    msg.pose.pose.orientation = yaw_to_quaternion(odom.yaw_rad)
    msg.twist.twist.linear.x = float(odom.linear_mps)
    msg.twist.twist.angular.z = float(odom.angular_radps)
    for i in (0, 7, 35):  # x, y, yaw
        msg.pose.covariance[i] = _POSE_VARIANCE
        msg.twist.covariance[i] = _TWIST_VARIANCE
    return msg


def battery_to_msg(battery: bp.Battery, stamp: Any, frame_id: str) -> BatteryState:
    msg = BatteryState()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.voltage = float(battery.voltage_v)
    msg.percentage = float(min(1.0, max(0.0, battery.percentage)))
    msg.power_supply_status = (
        BatteryState.POWER_SUPPLY_STATUS_CHARGING if battery.charging else BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
    )
    msg.power_supply_technology = BatteryState.POWER_SUPPLY_TECHNOLOGY_LION
    msg.present = True
    for name in ("current", "charge", "capacity", "design_capacity", "temperature"):
        setattr(msg, name, math.nan)  # unknown, per the BatteryState convention
    return msg


def lock_state_to_msg(state: bp.LockState, stamp: Any, frame_id: str) -> LockStates:
    msg = LockStates()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.locked = list(state.locked)
    return msg


def twist_to_cmd(twist: Twist) -> bp.VelocityCmd:
    return bp.VelocityCmd(linear_mps=float(twist.linear.x), angular_radps=float(twist.angular.z))


def lock_command_to_cmd(cmd: LockCommand) -> bp.LockCmd:
    return bp.LockCmd(compartment_id=int(cmd.compartment_id), locked=bool(cmd.locked))


def diagnostics_status(
    name: str, hardware_id: str, stats: dict[str, Any], base_status: bp.Status | None
) -> DiagnosticStatus:
    """ERROR when the port is closed, WARN when the line is silent or the base is e-stopped."""
    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    if not stats["connected"]:
        status.level, status.message = DiagnosticStatus.ERROR, "motor base disconnected"
    elif stats["silent"]:
        status.level, status.message = DiagnosticStatus.WARN, "motor base line silent"
    elif base_status is not None and (base_status.estop or base_status.bumper or not base_status.heartbeat_ok):
        status.level = DiagnosticStatus.WARN
        status.message = (
            "emergency stop engaged"
            if base_status.estop
            else "bumper pressed"
            if base_status.bumper
            else "base watchdog tripped"
        )
    else:
        status.level, status.message = DiagnosticStatus.OK, "ok"
    values = dict(stats)
    if base_status is not None:
        values.update(estop=base_status.estop, bumper=base_status.bumper, heartbeat_ok=base_status.heartbeat_ok)
    status.values = [KeyValue(key=k, value="" if v is None else str(v)) for k, v in values.items()]
    return status


# ---- node ---------------------------------------------------------------------------------------


class BaseDriverNode(Node):
    """Bridges the motor base serial link to ROS 2 topics; does not spin by itself."""

    def __init__(self, serial_url: str | None = None, **node_kwargs: Any) -> None:
        super().__init__("base_driver", **node_kwargs)
        url = self.declare_parameter("serial_url", serial_url or "").value
        self._odom_frame = self.declare_parameter("odom_frame_id", "odom").value
        self._base_frame = self.declare_parameter("base_frame_id", "base_link").value
        cmd_vel_timeout_s = float(
            self.declare_parameter(
                "cmd_vel_timeout_s",
                0.3,
                ParameterDescriptor(description="a cmd_vel not renewed within this stops the base [s, wall]"),
            ).value
        )
        if not url:
            raise ValueError(
                f"{self.get_fully_qualified_name()}: parameter serial_url is empty; "
                "set it to the motor base port (device, pty link or socket://)"
            )
        self._odom_pub = self.create_publisher(OdometryMsg, "odom", 10)
        self._tf_pub = self.create_publisher(TFMessage, "tf", 100)
        self._battery_pub = self.create_publisher(BatteryState, "battery_state", 10)
        self._locks_pub = self.create_publisher(LockStates, "lock_states", 10)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(Twist, "cmd_vel", self._on_cmd_vel, LATEST)
        self.create_subscription(LockCommand, "lock_command", self._on_lock_command, 10)
        self._estop_state_pub = self.create_publisher(Bool, "estop_state", LATCHED)
        self.create_subscription(Bool, "estop", self._on_estop, 10)
        self.create_subscription(Bool, "charge", self._on_charge, 10)
        self._base_status: bp.Status | None = None
        self._diag_name = f"{self.get_fully_qualified_name()}: motor base"
        # The cmd_vel timeout runs on the serial link's own heartbeat thread: a busy executor cannot
        # leave the base driving on an old command.
        self.base = SerialMotorBase(url, self._on_base_message, motion_timeout_s=cmd_vel_timeout_s)
        self.create_timer(1.0, self._publish_diagnostics)
        self.base.start()

    def destroy_node(self) -> None:
        self.base.close()
        super().destroy_node()

    # serial reader thread
    def _on_base_message(self, msg: bp.Message) -> None:
        stamp = self.get_clock().now().to_msg()
        if isinstance(msg, bp.Odometry):
            odom_msg = odometry_to_msg(msg, stamp, self._odom_frame, self._base_frame)
            self._odom_pub.publish(odom_msg)
            self._tf_pub.publish(odometry_to_tf(odom_msg))
        elif isinstance(msg, bp.Battery):
            self._battery_pub.publish(battery_to_msg(msg, stamp, self._base_frame))
        elif isinstance(msg, bp.LockState):
            self._locks_pub.publish(lock_state_to_msg(msg, stamp, self._base_frame))
        elif isinstance(msg, bp.Status):
            self._base_status = msg
            self._estop_state_pub.publish(Bool(data=bool(msg.estop)))

    def _on_estop(self, msg: Bool) -> None:
        """Sent straight to the board: the base stops within its next control cycle."""
        if not self.base.send(bp.EstopCmd(engage=bool(msg.data))):
            self.get_logger().error(f"e-stop {'engage' if msg.data else 'reset'} not sent: motor base not connected")

    def _on_charge(self, msg: Bool) -> None:
        if not self.base.send(bp.ChargeCmd(on=bool(msg.data))):
            self.get_logger().warning("charge command dropped: motor base not connected")

    def _on_cmd_vel(self, twist: Twist) -> None:
        self.base.send(twist_to_cmd(twist))

    def _on_lock_command(self, cmd: LockCommand) -> None:
        if not self.base.send(lock_command_to_cmd(cmd)):
            self.get_logger().warning(
                f"lock command for compartment {cmd.compartment_id} dropped: motor base not connected"
            )

    def _publish_diagnostics(self) -> None:
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [diagnostics_status(self._diag_name, self.base.url, self.base.stats(), self._base_status)]
        self._diag_pub.publish(array)


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = None
    try:
        node = BaseDriverNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
