"""Base protocol framing and simulated kinematics: pure logic, nothing running."""

from __future__ import annotations

import math

import pytest

from robots.core.base_protocol import (
    START_BYTE,
    Battery,
    EstopCmd,
    FrameDecoder,
    Heartbeat,
    LockCmd,
    LockState,
    Odometry,
    Status,
    VelocityCmd,
    crc16_ccitt_false,
    encode,
)
from robots.core.path_follower import Pose, advance
from robots.sim.battery import BatteryModel

ALL_MESSAGES = [
    VelocityCmd(0.5, -0.25),
    Heartbeat(123456),
    LockCmd(3, False),
    EstopCmd(True),
    EstopCmd(False),
    Odometry(1.5, -2.25, 0.75, 0.5, 0.125, 987654),
    Battery(25.5, 0.75, True),
    LockState((True, False, True, True)),
    LockState(()),
    Status(estop=False, bumper=True, heartbeat_ok=True),
]


def test_crc_is_ccitt_false() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the standard check value


@pytest.mark.parametrize("msg", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(msg: object) -> None:
    frame = encode(msg)
    assert frame[0] == START_BYTE and frame[1] == len(frame) - 5
    decoder = FrameDecoder()
    assert decoder.feed(frame) == [msg]  # chosen values are exact in float32
    assert decoder.frames_ok == 1 and decoder.crc_errors == 0 and decoder.garbage_bytes == 0


def test_float32_values_round_trip_approximately() -> None:
    (odom,) = FrameDecoder().feed(encode(Odometry(0.1, 0.2, math.pi, 1.1, -0.3, 2**32 + 5)))
    assert odom.x_m == pytest.approx(0.1, abs=1e-6) and odom.yaw_rad == pytest.approx(math.pi)
    assert odom.stamp_ms == 5  # base time wraps at 2**32 ms


def test_corrupted_frame_is_counted_and_decoder_resyncs() -> None:
    good1, bad, good2 = encode(Heartbeat(1)), bytearray(encode(VelocityCmd(1.0, 0.0))), encode(Heartbeat(2))
    bad[5] ^= 0x40
    decoder = FrameDecoder()
    assert decoder.feed(good1 + bytes(bad) + good2) == [Heartbeat(1), Heartbeat(2)]
    assert decoder.crc_errors == 1
    assert decoder.frames_ok == 2


def test_garbage_between_frames_is_skipped_and_counted() -> None:
    noise = b"\x00\x13\x37hello"
    decoder = FrameDecoder()
    out = decoder.feed(noise + encode(LockCmd(1, True)) + noise + encode(EstopCmd(True)))
    assert out == [LockCmd(1, True), EstopCmd(True)]
    assert decoder.garbage_bytes == 2 * len(noise)


def test_false_start_byte_with_huge_length_does_not_swallow_next_frame() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\xaa\xff" + encode(Heartbeat(9))) == [Heartbeat(9)]
    assert decoder.garbage_bytes == 2


def test_frames_fed_byte_by_byte() -> None:
    stream = b"".join(encode(m) for m in ALL_MESSAGES)
    decoder = FrameDecoder()
    out = []
    for byte in stream:
        out.extend(decoder.feed(bytes([byte])))
    assert out == ALL_MESSAGES


def test_unknown_type_and_bad_length_are_counted_not_raised() -> None:
    def frame(type_id: int, payload: bytes) -> bytes:
        body = bytes((len(payload), type_id)) + payload
        return b"\xaa" + body + crc16_ccitt_false(body).to_bytes(2, "big")

    decoder = FrameDecoder()
    out = decoder.feed(frame(0x7E, b"xyz") + frame(Heartbeat.TYPE_ID, b"\x01") + encode(Heartbeat(3)))
    assert out == [Heartbeat(3)]
    assert decoder.unknown_types == 1 and decoder.bad_payloads == 1


def test_straight_line() -> None:
    pose = Pose(1.0, 2.0, math.pi / 2)
    for _ in range(100):
        pose = advance(pose, 0.5, 0.0, 0.02)  # 1 m north
    assert (pose.x_m, pose.y_m, pose.yaw_rad) == pytest.approx((1.0, 3.0, math.pi / 2), abs=1e-9)


def test_turn_in_place_and_arc() -> None:
    pose = advance(Pose(), 0.0, 1.0, math.pi / 2)
    assert (pose.x_m, pose.y_m, pose.yaw_rad) == pytest.approx((0.0, 0.0, math.pi / 2), abs=1e-9)
    half_circle = advance(Pose(), 1.0, 1.0, math.pi)  # radius 1 m, left turn
    assert half_circle.x_m == pytest.approx(0.0, abs=1e-9)
    assert half_circle.y_m == pytest.approx(2.0)
    assert abs(half_circle.yaw_rad) == pytest.approx(math.pi)


def test_battery_drains_faster_driving_and_charges_on_dock() -> None:
    idle, driving = BatteryModel(0.8), BatteryModel(0.8)
    idle.step(3600, driving=False)
    driving.step(3600, driving=True)
    assert 0.0 < driving.percentage < idle.percentage < 0.8
    assert driving.voltage_v < idle.voltage_v
    dock = BatteryModel(0.5, charging=True)
    dock.step(10 * 3600, driving=False)
    assert dock.percentage == 1.0
