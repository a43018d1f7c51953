"""Framed binary protocol between the robot computer and the motor base controller (no I/O).

Frame: ``0xAA | len (1 B) | type (1 B) | payload (len B) | CRC-16/CCITT-FALSE (2 B, big-endian)``.
The CRC covers len + type + payload. All payload fields are big-endian (see docs/base_protocol.md).
The decoder never raises on line noise: it counts what it drops and resyncs on the next 0xAA,
because a serial line does deliver garbage and the driver must keep going.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, fields
from typing import ClassVar, Union

START_BYTE = 0xAA
HEADER_BYTES = 3  # start, length, type
CRC_BYTES = 2
MAX_PAYLOAD_BYTES = 64  # longer "lengths" are taken as noise, so a false start cannot stall the line


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as the firmware computes it."""
    return binascii.crc_hqx(data, 0xFFFF)


# ---- host -> base -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VelocityCmd:
    """Body velocity set-point; the base clamps it to its limits."""

    TYPE_ID: ClassVar[int] = 0x01
    FORMAT: ClassVar[str] = ">ff"
    linear_mps: float
    angular_radps: float


@dataclass(frozen=True)
class Heartbeat:
    """Keeps the base watchdog alive; seq wraps at 2**32."""

    TYPE_ID: ClassVar[int] = 0x02
    FORMAT: ClassVar[str] = ">I"
    seq: int


@dataclass(frozen=True)
class LockCmd:
    """Drive one compartment lock; compartment_id is 1-based."""

    TYPE_ID: ClassVar[int] = 0x03
    FORMAT: ClassVar[str] = ">B?"
    compartment_id: int
    locked: bool


@dataclass(frozen=True)
class EstopCmd:
    """engage=True stops the motors and latches; engage=False resets the latch."""

    TYPE_ID: ClassVar[int] = 0x04
    FORMAT: ClassVar[str] = ">?"
    engage: bool


@dataclass(frozen=True)
class ChargeCmd:
    """Close (on=True) or open the charging relay to the dock contacts; the base charges while closed."""

    TYPE_ID: ClassVar[int] = 0x05
    FORMAT: ClassVar[str] = ">?"
    on: bool


# ---- base -> host -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Odometry:
    """Wheel odometry in the odom frame; stamp_ms is base time, wrapping at 2**32."""

    TYPE_ID: ClassVar[int] = 0x81
    FORMAT: ClassVar[str] = ">fffffI"
    x_m: float
    y_m: float
    yaw_rad: float
    linear_mps: float
    angular_radps: float
    stamp_ms: int


@dataclass(frozen=True)
class Battery:
    """Pack state; percentage is a fraction 0..1."""

    TYPE_ID: ClassVar[int] = 0x82
    FORMAT: ClassVar[str] = ">ff?"
    voltage_v: float
    percentage: float
    charging: bool


@dataclass(frozen=True)
class LockState:
    """Lock sensor per compartment, index 0 = compartment 1 (one byte each, variable length)."""

    TYPE_ID: ClassVar[int] = 0x83
    locked: tuple[bool, ...]


@dataclass(frozen=True)
class Status:
    """Safety state of the base."""

    TYPE_ID: ClassVar[int] = 0x84
    FORMAT: ClassVar[str] = ">???"
    estop: bool
    bumper: bool
    heartbeat_ok: bool


Message = Union[VelocityCmd, Heartbeat, LockCmd, EstopCmd, ChargeCmd, Odometry, Battery, LockState, Status]
MESSAGE_TYPES: dict[int, type] = {
    cls.TYPE_ID: cls
    for cls in (VelocityCmd, Heartbeat, LockCmd, EstopCmd, ChargeCmd, Odometry, Battery, LockState, Status)
}


class PayloadError(ValueError):
    """A frame with a valid CRC whose payload does not fit its message type."""


def _encode_payload(msg: Message) -> bytes:
    if isinstance(msg, LockState):
        return bytes(1 if v else 0 for v in msg.locked)
    if isinstance(msg, Heartbeat):
        return struct.pack(msg.FORMAT, msg.seq & 0xFFFFFFFF)
    if isinstance(msg, Odometry):
        return struct.pack(
            msg.FORMAT, msg.x_m, msg.y_m, msg.yaw_rad, msg.linear_mps, msg.angular_radps, msg.stamp_ms & 0xFFFFFFFF
        )
    return struct.pack(msg.FORMAT, *(getattr(msg, f.name) for f in fields(msg)))


def _decode_payload(cls: type, payload: bytes) -> Message:
    if cls is LockState:
        if any(b > 1 for b in payload):
            raise PayloadError(f"LockState payload has a byte other than 0/1: {payload.hex()}")
        return LockState(tuple(b == 1 for b in payload))
    size = struct.calcsize(cls.FORMAT)
    if len(payload) != size:
        raise PayloadError(f"{cls.__name__} payload is {len(payload)} bytes, expected {size}")
    return cls(*struct.unpack(cls.FORMAT, payload))


def encode(msg: Message) -> bytes:
    """Return the complete frame for one message."""
    if type(msg) not in MESSAGE_TYPES.values():
        raise TypeError(f"encode: {type(msg).__name__} is not a base protocol message")
    payload = _encode_payload(msg)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"encode: {type(msg).__name__} payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    body = bytes((len(payload), msg.TYPE_ID)) + payload
    return bytes((START_BYTE,)) + body + crc16_ccitt_false(body).to_bytes(2, "big")


class FrameDecoder:
    """Incremental decoder: feed arbitrary chunks, get whole messages back."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.frames_ok = 0
        self.crc_errors = 0
        self.garbage_bytes = 0
        self.unknown_types = 0
        self.bad_payloads = 0

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        out: list[Message] = []
        buf = self._buf
        while buf:
            start = buf.find(START_BYTE)
            if start < 0:
                self.garbage_bytes += len(buf)
                buf.clear()
                break
            if start > 0:
                self.garbage_bytes += start
                del buf[:start]
            if len(buf) < 2:
                break
            length = buf[1]
            if length > MAX_PAYLOAD_BYTES:  # a 0xAA inside noise, not a frame start
                self.garbage_bytes += 1
                del buf[0]
                continue
            total = HEADER_BYTES + length + CRC_BYTES
            if len(buf) < total:
                break
            body = bytes(buf[1 : HEADER_BYTES + length])
            crc = int.from_bytes(buf[total - CRC_BYTES : total], "big")
            if crc != crc16_ccitt_false(body):
                self.crc_errors += 1
                del buf[0]  # resync: the real frame may start inside this one
                continue
            del buf[:total]
            cls = MESSAGE_TYPES.get(body[1])
            if cls is None:
                self.unknown_types += 1
                continue
            try:
                out.append(_decode_payload(cls, body[2:]))
            except PayloadError:
                self.bad_payloads += 1
                continue
            self.frames_ok += 1
        return out
