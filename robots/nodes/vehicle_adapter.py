"""Vehicle adapter node: the only part of a robot that speaks MQTT (VDA 5050) — everything else is ROS 2.

Orders become Navigate goals on ``navigate``; delivery actions become calls to the compartments
node; ``speak`` becomes a call to the speech node. All decisions live in ``VehicleCore``; this node
only moves messages. Core access happens under one lock: MQTT callbacks arrive on paho's thread.

Safety: emergencyStop publishes ``estop`` (std_msgs/Bool true) for the base driver and raises the
FATAL error at once; ``estop_state`` from the base driver reports a latch nobody here asked for (the
robot's own button, MANUAL). resetEmergencyStop finishes only when the base confirms the release.
startCharging / stopCharging drive ``charge`` (std_msgs/Bool) and finish when battery_state agrees.
"""

from __future__ import annotations

import logging
import threading
import time

from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped
from hall_interfaces.action import Navigate
from hall_interfaces.msg import CompartmentState
from hall_interfaces.srv import LockCompartment, PrepareHandover, Speak, UnlockCompartment
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import BatteryState
from std_msgs.msg import Bool, String

import hallfleet.ros_env  # noqa: F401  (loopback DDS before rclpy)
from hallfleet.protocol import hall_actions as ha
from hallfleet.protocol import vda5050 as v
from robots.core.vehicle import ActionStep, DriveStep, VehicleCore, VehiclePosition
from robots.drivers.mqtt_vehicle_link import MqttVehicleLink
from robots.nodes.conversions import pose2d, stamped_to_pose, yaw_to_quaternion
from robots.nodes.qos import LATCHED, LATEST

log = logging.getLogger(__name__)


class ActionParameterError(ValueError):
    """An action parameter is missing or of the wrong type; the text names action and key."""


def _str_param(a: v.Action, key: str) -> str:
    value = a.param(key)
    if value is None:
        raise ActionParameterError(f"{a.actionType} {a.actionId}: parameter {key} is missing")
    return str(value)


def _compartment_param(a: v.Action) -> int:
    value = a.param("compartmentId")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ActionParameterError(
            f"{a.actionType} {a.actionId}: compartmentId must be an integer, got {value!r}"
        ) from None
    if not 1 <= number <= 255:  # uint8 in the services
        raise ActionParameterError(f"{a.actionType} {a.actionId}: compartmentId must be 1..255, got {number}")
    return number


def _bool_param(a: v.Action, key: str) -> bool:
    """BOOL per the factsheet; the strings "true"/"false" are accepted (bool("false") would be True)."""
    value = a.param(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ActionParameterError(f"{a.actionType} {a.actionId}: parameter {key} must be true or false, got {value!r}")


class VehicleAdapterNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("vehicle_adapter", **kwargs)
        d = lambda text: ParameterDescriptor(description=text)  # noqa: E731
        self.declare_parameter("manufacturer", "HallFleet", d("VDA 5050 manufacturer"))
        self.declare_parameter("serial_number", "", d("VDA 5050 serialNumber; defaults to the namespace"))
        self.declare_parameter("kind", "delivery", d("delivery or guidance"))
        self.declare_parameter("mqtt_url", "mqtt://127.0.0.1:1883", d("broker URL"))
        self.declare_parameter("compartment_count", 4, d("compartments (delivery robots)"))
        self.declare_parameter("max_speed_mps", 1.0, d("top speed declared in the factsheet [m/s]"))
        self.declare_parameter("initial_x", 0.0, d("start x [m]"))
        self.declare_parameter("initial_y", 0.0, d("start y [m]"))
        self.declare_parameter("initial_yaw", 0.0, d("start heading [rad]"))
        self.declare_parameter("map_id", "floor1", d("start map"))
        self.declare_parameter("start_node_id", "", d("lane waypoint the robot starts on"))
        self.declare_parameter("state_period_s", 1.0, d("state publishing period [s]"))
        self.declare_parameter("visualization_period_s", 0.5, d("visualization publishing period [s]"))
        self.declare_parameter(
            "base_confirm_timeout_s",
            3.0,
            d("how long the base may take to confirm an e-stop reset or a charging change [s]"),
        )
        gp = lambda name: self.get_parameter(name).value  # noqa: E731
        serial = gp("serial_number") or self.get_namespace().strip("/") or "robot"
        self.kind: str = gp("kind")
        self.factsheet = ha.build_factsheet(
            gp("manufacturer"),
            serial,
            self.kind,
            compartments=gp("compartment_count") if self.kind == "delivery" else 0,
            speed_max_mps=gp("max_speed_mps"),
        )
        supported = {spec.action_type for spec in ha.actions_for(self.kind)}
        self.core = VehicleCore(
            gp("manufacturer"),
            serial,
            supported,
            VehiclePosition(gp("initial_x"), gp("initial_y"), gp("initial_yaw"), gp("map_id")),
        )
        self.core.last_node_id = gp("start_node_id")
        self._lock = threading.RLock()
        self._velocity = (0.0, 0.0)
        self._compartments: dict[int, CompartmentState] = {}
        self._handovers: dict[str, tuple[int, str, str]] = {}  # actionId -> (compartment, delivery, kind)
        self._nav_goal = None
        self._state_dirty = True
        self._base_estop: bool | None = None  # last estop_state from the base driver
        self._pending_reset: tuple[str, float] | None = None  # (actionId, deadline monotonic s)
        self._charge_waits: dict[str, tuple[bool, float]] = {}  # actionId -> (charging wanted, deadline)
        self._charge_requested = False
        group = ReentrantCallbackGroup()
        self._nav = ActionClient(self, Navigate, "navigate", callback_group=group)
        self._prepare = self.create_client(PrepareHandover, "prepare_handover", callback_group=group)
        self._unlock = self.create_client(UnlockCompartment, "unlock_compartment", callback_group=group)
        self._lock_srv = self.create_client(LockCompartment, "lock_compartment", callback_group=group)
        self._speak = self.create_client(Speak, "speak", callback_group=group)
        self._initial_pose_pub = self.create_publisher(PoseWithCovarianceStamped, "initialpose", 10)
        self._estop_pub = self.create_publisher(Bool, "estop", 10)
        self._charge_pub = self.create_publisher(Bool, "charge", 10)
        self.create_subscription(Bool, "estop_state", self._on_estop_state, LATCHED, callback_group=group)
        self.create_subscription(PoseStamped, "pose", self._on_pose, LATEST, callback_group=group)
        self.create_subscription(Odometry, "odom", self._on_odom, LATEST, callback_group=group)
        self.create_subscription(String, "current_map", self._on_map, 10, callback_group=group)
        self.create_subscription(BatteryState, "battery_state", self._on_battery, 10, callback_group=group)
        self.create_subscription(CompartmentState, "compartments", self._on_compartment, 20, callback_group=group)
        self.link = MqttVehicleLink(
            gp("mqtt_url"), gp("manufacturer"), serial, self._on_vda, self._on_connected, self._on_invalid
        )
        self.create_timer(0.05, self._tick, callback_group=group)
        self._last_state_s = 0.0
        self._last_vis_s = 0.0
        self.link.start()

    # ------------------------------------------------------------- MQTT side
    def _on_connected(self) -> None:
        with self._lock:
            self._publish_factsheet()
            self._state_dirty = True

    def _publish_factsheet(self) -> None:
        """Each factsheet sent gets the next headerId and a fresh timestamp (VDA 5050 header rules)."""
        self.factsheet["headerId"] = self.link.headers.next("factsheet")
        self.factsheet["timestamp"] = v.utc_timestamp()
        self.link.publish("factsheet", self.factsheet, qos=1, retain=True)

    def _on_invalid(self, description: str) -> None:
        with self._lock:
            self.core.set_error("validationError", "WARNING", description, True)
            self._state_dirty = True

    def _on_vda(self, kind: str, message: v._Model) -> None:
        with self._lock:
            if kind == "order":
                accepted = self.core.receive_order(message)
                self.get_logger().info(
                    f"order {message.orderId}/{message.orderUpdateId} {'accepted' if accepted else 'rejected'}"
                )
            elif kind == "instantActions":
                for action in message.actions:
                    self._instant(action)
            self._state_dirty = True

    def _instant(self, action: v.Action) -> None:
        t = action.actionType
        if t == "cancelOrder":
            self.core.cancel_order(action)
            self._cancel_navigation()
            for action_id in list(self._handovers):
                self.core.update_action(action_id, v.ActionStatus.FAILED, "order cancelled")
                self._handovers.pop(action_id)
        elif t in ("startPause", "stopPause"):
            self.core.paused = t == "startPause"
            if self.core.paused:
                self._cancel_navigation(resume_later=True)
            self.core.finish_instant(action)
        elif t == ha.EMERGENCY_STOP:
            self._estop_pub.publish(Bool(data=True))
            self._engage_estop("REMOTE", f"emergency stop by {action.param('person', 'the fleet')}")
            self.core.finish_instant(action)
        elif t == ha.RESET_EMERGENCY_STOP:
            self._request_reset(action)
        elif t == "stateRequest":
            self.core.finish_instant(action)
        elif t == "factsheetRequest":
            self._publish_factsheet()
            self.core.finish_instant(action)
        elif t in self.core.supported_actions:
            self.core.start_instant_action(action)
        else:
            self.core.finish_instant(action, v.ActionStatus.FAILED)
            self.core.set_error("actionNotSupported", "WARNING", f"{t} is not in this vehicle's factsheet", True)

    # ---------------------------------------------------------------- safety
    def _engage_estop(self, source: str, description: str) -> None:
        """FATAL error and no motion: the current navigation goal is cancelled, the order kept."""
        if self._pending_reset is not None:  # stopped again before the base confirmed the reset
            self.core.update_action(self._pending_reset[0], v.ActionStatus.FAILED, "emergency stop engaged again")
            self._pending_reset = None
        if self.core.engage_estop(source, description):
            self.get_logger().error(f"EMERGENCY STOP ({source}): {description}")
        self._cancel_navigation()
        self._state_dirty = True

    def _request_reset(self, action: v.Action) -> None:
        if not self.core.e_stop and not self._base_estop:
            self.core.finish_instant(action)
            self.core.update_action(action.actionId, v.ActionStatus.FINISHED, "not stopped")
            return
        self.core.finish_instant(action, v.ActionStatus.RUNNING)
        timeout_s = float(self.get_parameter("base_confirm_timeout_s").value)
        self._pending_reset = (action.actionId, time.monotonic() + timeout_s)
        self._estop_pub.publish(Bool(data=False))

    def _on_estop_state(self, msg: Bool) -> None:
        with self._lock:
            self._base_estop = bool(msg.data)
            if msg.data and not self.core.e_stop and self._pending_reset is None:
                self._engage_estop("MANUAL", "emergency stop button pressed on the robot")
            elif not msg.data and self._pending_reset is not None:
                action_id, _ = self._pending_reset
                self._pending_reset = None
                self.core.reset_estop()
                self.core.update_action(action_id, v.ActionStatus.FINISHED, "reset")
                self.get_logger().info("emergency stop reset")
                self._state_dirty = True

    def _check_base_timeouts(self) -> None:
        now = time.monotonic()
        if self._pending_reset is not None and now > self._pending_reset[1]:
            action_id, _ = self._pending_reset
            self._pending_reset = None
            self.core.update_action(action_id, v.ActionStatus.FAILED, "the motor base did not confirm the reset")
            self._state_dirty = True
        for action_id, (wanted, deadline) in list(self._charge_waits.items()):
            if now > deadline:
                self._charge_waits.pop(action_id)
                what = "start" if wanted else "stop"
                self.core.update_action(action_id, v.ActionStatus.FAILED, f"the battery did not {what} charging")
                self._state_dirty = True

    def _set_charging(self, on: bool) -> None:
        self._charge_requested = on
        self._charge_pub.publish(Bool(data=on))

    # -------------------------------------------------------------- ROS side
    def _on_pose(self, msg: PoseStamped) -> None:
        p = stamped_to_pose(msg)
        with self._lock:
            self.core.set_pose(p.x_m, p.y_m, p.yaw_rad, self.core.position.map_id)

    def _on_odom(self, msg: Odometry) -> None:
        self._velocity = (msg.twist.twist.linear.x, msg.twist.twist.angular.z)  # reported in state

    def _on_map(self, msg: String) -> None:
        with self._lock:
            pos = self.core.position
            self.core.set_pose(pos.x_m, pos.y_m, pos.yaw_rad, msg.data)

    def _on_battery(self, msg: BatteryState) -> None:
        with self._lock:
            self.core.battery_charge_pct = max(0.0, min(100.0, msg.percentage * 100.0))
            self.core.battery_voltage_v = float(msg.voltage)
            self.core.charging = msg.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_CHARGING
            for action_id, (wanted, _) in list(self._charge_waits.items()):
                if self.core.charging == wanted:
                    self._charge_waits.pop(action_id)
                    self.core.update_action(
                        action_id, v.ActionStatus.FINISHED, "charging" if wanted else "not charging"
                    )
                    self._state_dirty = True

    def _on_compartment(self, msg: CompartmentState) -> None:
        with self._lock:
            self._compartments[msg.compartment_id] = msg
            self.core.set_info(
                f"compartment{msg.compartment_id}",
                f"locked={msg.locked} occupied={msg.occupied} blocked={msg.blocked}",
                {"compartmentId": str(msg.compartment_id), "deliveryId": msg.delivery_id},
            )
            for action_id, (cid, delivery, kind) in list(self._handovers.items()):
                if cid == msg.compartment_id and self._handover_done(msg, delivery, kind):
                    self._handovers.pop(action_id)
                    self._update_loads(cid, delivery, kind)
                    self.core.update_action(action_id, v.ActionStatus.FINISHED, f"{kind} complete in compartment {cid}")
                    self._state_dirty = True
            if msg.blocked:
                self.core.set_error(
                    "compartmentBlocked", "WARNING", f"compartment {msg.compartment_id}: too many wrong PINs", True
                )

    @staticmethod
    def _handover_done(msg: CompartmentState, delivery: str, kind: str) -> bool:
        if not msg.locked:
            return False
        return (msg.occupied and msg.delivery_id == delivery) if kind == "load" else not msg.occupied

    def _update_loads(self, compartment_id: int, delivery: str, kind: str) -> None:
        position = f"compartment{compartment_id}"
        self.core.loads = [load for load in self.core.loads if load.loadPosition != position]
        if kind == "load":
            self.core.loads.append(v.Load(loadId=delivery, loadType="documents", loadPosition=position))

    # ----------------------------------------------------------------- work
    def _tick(self) -> None:
        with self._lock:
            self._check_base_timeouts()
            step = self.core.next_step()
            while step is not None:
                self._state_dirty = True
                if isinstance(step, DriveStep):
                    self._drive(step)
                else:
                    self._run_action(step)
                step = self.core.next_step()
            self._publish_periodic()

    def _drive(self, step: DriveStep) -> None:
        if self._charge_requested or self.core.charging:
            self._set_charging(False)  # driving off the dock opens the charging contacts
        pos = step.node.nodePosition
        if step.is_map_transfer:
            # The elevator carried us: same place in the car, new floor's map.
            msg = PoseWithCovarianceStamped()
            msg.header.frame_id = pos.mapId
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.pose.pose.position.x, msg.pose.pose.position.y = pos.x, pos.y
            msg.pose.pose.orientation = yaw_to_quaternion(
                pos.theta if pos.theta is not None else self.core.position.yaw_rad
            )
            self._initial_pose_pub.publish(msg)
            self.core.set_pose(pos.x, pos.y, self.core.position.yaw_rad, pos.mapId)
            self.core.arrived(step.node.nodeId)
            return
        goal = Navigate.Goal()
        goal.map_id = pos.mapId
        goal.waypoints = [pose2d(pos.x, pos.y, pos.theta or 0.0)]
        goal.max_speed_mps = float(step.edge.maxSpeed or self.get_parameter("max_speed_mps").value)
        if not self._nav.wait_for_server(timeout_sec=2.0):  # only at start-up: the server is in this robot
            self.get_logger().warning(f"navigation server not ready; sending the goal to {step.node.nodeId} anyway")
        future = self._nav.send_goal_async(goal)
        future.add_done_callback(lambda f, node_id=step.node.nodeId: self._on_goal_response(f, node_id))

    def _on_goal_response(self, future, node_id: str) -> None:
        handle = future.result()
        if not handle.accepted:
            with self._lock:
                self.core.drive_failed(f"navigation refused the goal to {node_id}")
            return
        with self._lock:
            if self.core.e_stop or self.core.paused:  # stopped while the goal was on its way
                handle.cancel_goal_async()
                return
            self._nav_goal = handle
        handle.get_result_async().add_done_callback(lambda f: self._on_nav_result(f, node_id))

    def _on_nav_result(self, future, node_id: str) -> None:
        result = future.result().result
        with self._lock:
            self._nav_goal = None
            if result.success:
                self.core.arrived(node_id)
            elif result.message != "cancelled":
                self.core.drive_failed(result.message)
            self._state_dirty = True

    def _cancel_navigation(self, resume_later: bool = False) -> None:
        if self._nav_goal is not None:
            self._nav_goal.cancel_goal_async()
            self._nav_goal = None
        if resume_later:
            self.core.abort_drive()

    def _run_action(self, step: ActionStep) -> None:
        a = step.action
        try:
            self._start_action(a)
        except ActionParameterError as exc:  # one bad message must fail its action, not kill the robot
            self.core.update_action(a.actionId, v.ActionStatus.FAILED, str(exc))

    def _start_action(self, a: v.Action) -> None:
        t = a.actionType
        if t in (ha.LOAD_DOCUMENTS, ha.UNLOAD_DOCUMENTS):
            kind = "load" if t == ha.LOAD_DOCUMENTS else "unload"
            request = PrepareHandover.Request(
                compartment_id=_compartment_param(a),
                delivery_id=_str_param(a, "deliveryId"),
                kind=kind,
                pin_hash=_str_param(a, "pinHash"),
            )
            self._call(
                self._prepare,
                request,
                a,
                on_ok=lambda _r: self._handovers.__setitem__(
                    a.actionId, (request.compartment_id, request.delivery_id, kind)
                ),
                keep_running=True,
            )
        elif t == ha.UNLOCK_COMPARTMENT:
            request = UnlockCompartment.Request(compartment_id=_compartment_param(a), pin=str(a.param("pin", "")))
            self._call(self._unlock, request, a)
        elif t == ha.LOCK_COMPARTMENT:
            request = LockCompartment.Request(compartment_id=_compartment_param(a), occupied=_bool_param(a, "occupied"))
            self._call(self._lock_srv, request, a)
        elif t in (ha.START_CHARGING, ha.STOP_CHARGING):
            wanted = t == ha.START_CHARGING
            self.core.update_action(a.actionId, v.ActionStatus.RUNNING)
            timeout_s = float(self.get_parameter("base_confirm_timeout_s").value)
            self._charge_waits[a.actionId] = (wanted, time.monotonic() + timeout_s + 1.0)  # battery is 1 Hz
            self._set_charging(wanted)
        elif t == ha.SPEAK:
            request = Speak.Request(text=str(a.param("text", "")), language=str(a.param("language", "zh-CN")))
            self._call(self._speak, request, a, result_of=lambda r: r.wav_path)
        else:
            self.core.update_action(a.actionId, v.ActionStatus.FAILED, f"{t} is not supported")

    def _call(self, client, request, action: v.Action, on_ok=None, keep_running: bool = False, result_of=None) -> None:
        """Call a robot service for an action; FINISHED/FAILED follow its answer."""
        self.core.update_action(action.actionId, v.ActionStatus.RUNNING)
        if not client.service_is_ready():
            self.core.update_action(action.actionId, v.ActionStatus.FAILED, f"{client.srv_name} is not available")
            return

        def done(future) -> None:
            response = future.result()
            with self._lock:
                if not response.success:
                    self.core.update_action(action.actionId, v.ActionStatus.FAILED, response.message)
                else:
                    if on_ok:
                        on_ok(response)
                    if not keep_running:
                        detail = result_of(response) if result_of else response.message
                        self.core.update_action(action.actionId, v.ActionStatus.FINISHED, detail)
                self._state_dirty = True
                self._publish_state()

        client.call_async(request).add_done_callback(done)

    # -------------------------------------------------------------- publish
    def _publish_periodic(self) -> None:
        now = time.monotonic()
        if self._state_dirty or now - self._last_state_s >= self.get_parameter("state_period_s").value:
            self._publish_state()
        if now - self._last_vis_s >= self.get_parameter("visualization_period_s").value:
            self._last_vis_s = now
            pos = self.core.position
            vis = v.Visualization(
                headerId=self.link.headers.next("visualization"),
                timestamp=v.utc_timestamp(),
                manufacturer=self.core.manufacturer,
                serialNumber=self.core.serial_number,
                agvPosition=v.AgvPosition(x=pos.x_m, y=pos.y_m, theta=pos.yaw_rad, mapId=pos.map_id),
                velocity=v.Velocity(vx=self._velocity[0], vy=0.0, omega=self._velocity[1]),
            )
            self.link.publish("visualization", vis)

    def _publish_state(self) -> None:
        self._state_dirty = False
        self._last_state_s = time.monotonic()
        state = self.core.state(self.link.headers.next("state"), v.utc_timestamp(), *self._velocity)
        self.link.publish("state", state, qos=0)

    def destroy_node(self) -> None:
        self.link.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    from robots.nodes.spin import run_node

    run_node(VehicleAdapterNode, args)


if __name__ == "__main__":
    main()
