"""Test-run wide settings: DDS on loopback and a random ROS_DOMAIN_ID for this run (never 0)."""

from __future__ import annotations

import os
import random

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
if "HALLFLEET_TEST_ROS_DOMAIN_ID" in os.environ:
    os.environ["ROS_DOMAIN_ID"] = os.environ["HALLFLEET_TEST_ROS_DOMAIN_ID"]
else:
    os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 200))

import hallfleet.ros_env  # noqa: E402,F401  (profile + log dir defaults)
