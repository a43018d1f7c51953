"""The QoS profiles the robot's nodes share.

``LATEST``: for 20 Hz streams read inside the robot (odometry, pose, cmd_vel). Best effort, newest
sample only: measured on these machines, a RELIABLE subscription between two nodes of one process
delivered odometry in bursts with 0.2-0.6 s holes (head-of-line blocking in the reliable protocol)
while a best-effort one saw every sample on time. A late velocity command or pose is worse than a
missing one: the next arrives 50 ms later. Publishers stay RELIABLE, so outside tools may subscribe
either way.

``LATCHED``: state that changes rarely and must reach late joiners (current map, e-stop state).
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

LATEST = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
