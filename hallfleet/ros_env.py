"""Keep every ROS 2 process of the project on loopback, before rclpy is imported.

Import this module (``import hallfleet.ros_env``) first in anything that imports rclpy. DDS discovery
otherwise multicasts on every interface; this host must never send traffic off the machine.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_FASTDDS_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <participant profile_name="hallfleet_fast_discovery" is_default_profile="true">
      <rtps>
        <builtin>
          <discovery_config>
            <initialAnnouncements><count>10</count><period><nanosec>100000000</nanosec></period></initialAnnouncements>
            <leaseAnnouncement><sec>0</sec><nanosec>500000000</nanosec></leaseAnnouncement>
          </discovery_config>
        </builtin>
      </rtps>
    </participant>
  </profiles>
</dds>
"""


def _fastdds_profile_path() -> str:
    """Write (once) the FastDDS profile that makes discovery on loopback reliably fast."""
    path = Path(tempfile.gettempdir()) / "hallfleet_fastdds_profile.xml"
    if not path.exists() or path.read_text() != _FASTDDS_PROFILE:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_FASTDDS_PROFILE)
        tmp.replace(path)
    return str(path)


DEFAULT_DOMAIN_ID = "42"
# Whether the user chose the domain (the demo picks a random one when they did not).
DOMAIN_ID_FROM_ENVIRONMENT = os.environ.get("ROS_DOMAIN_ID", "0") not in ("", "0")


def apply_ros_defaults() -> None:
    """Set loopback-only discovery, a non-zero domain and a writable log dir unless already set.

    Domain 0 is everybody's default on a shared host, so it is replaced too.
    """
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    if os.environ.get("ROS_DOMAIN_ID", "0") in ("", "0"):
        os.environ["ROS_DOMAIN_ID"] = DEFAULT_DOMAIN_ID
    os.environ.setdefault("ROS_LOG_DIR", str(Path(tempfile.gettempdir()) / "hallfleet_ros_logs"))
    os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", _fastdds_profile_path())


apply_ros_defaults()
