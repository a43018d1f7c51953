"""What the base driver tells technicians on /diagnostics about the serial link and the board."""

from __future__ import annotations

import pytest

pytest.importorskip("diagnostic_msgs.msg")  # ROS message types come from the project's wheels

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402

from robots.core.base_protocol import Status  # noqa: E402
from robots.nodes.base_driver import diagnostics_status  # noqa: E402

LINK_OK = {"connected": True, "silent": False, "frames_ok": 10, "crc_errors": 0}


@pytest.mark.parametrize(
    ("stats", "status", "level", "message"),
    [
        (LINK_OK, Status(estop=False, bumper=False, heartbeat_ok=True), DiagnosticStatus.OK, "ok"),
        ({**LINK_OK, "connected": False}, None, DiagnosticStatus.ERROR, "motor base disconnected"),
        ({**LINK_OK, "silent": True}, None, DiagnosticStatus.WARN, "motor base line silent"),
        (LINK_OK, Status(estop=True, bumper=False, heartbeat_ok=True), DiagnosticStatus.WARN, "emergency stop engaged"),
        (LINK_OK, Status(estop=False, bumper=True, heartbeat_ok=True), DiagnosticStatus.WARN, "bumper pressed"),
        (
            LINK_OK,
            Status(estop=False, bumper=False, heartbeat_ok=False),
            DiagnosticStatus.WARN,
            "base watchdog tripped",
        ),
    ],
)
def test_level_and_message_follow_the_worst_condition(stats, status, level, message) -> None:
    diag = diagnostics_status("/dr1/base_driver: motor base", "dr1", stats, status)
    assert diag.level == level and diag.message == message
    values = {kv.key: kv.value for kv in diag.values}
    assert values["crc_errors"] == "0"
    if status is not None:
        assert values["bumper"] == str(status.bumper)
