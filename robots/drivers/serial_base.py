"""Serial link to the motor base: frames in, frames out, heartbeat, reconnect (pyserial adapter).

Works with any pyserial URL (device path, pty symlink, ``socket://host:port``), so the same code
drives the simulated firmware and a real board. The port may appear late or vanish at any time
(firmware restart, USB unplug): the reader thread keeps reopening it with exponential backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from robots.core.base_protocol import FrameDecoder, Heartbeat, Message, VelocityCmd, encode

log = logging.getLogger(__name__)

MessageCallback = Callable[[Message], None]


class SerialMotorBase:
    """Owns one serial port; call start() to begin, close() to end.

    on_message runs on the reader thread. A line silent for silent_after_s is reported (counted
    once per silent period); after reopen_after_silent_s the port is closed and reopened.
    """

    def __init__(
        self,
        url: str,
        on_message: MessageCallback | None = None,
        *,
        baudrate: int = 115200,
        heartbeat_period_s: float = 0.1,
        silent_after_s: float = 1.0,
        backoff_min_s: float = 0.1,
        backoff_max_s: float = 2.0,
        reopen_after_silent_s: float = 3.0,
        read_timeout_s: float = 0.05,
        motion_timeout_s: float | None = None,
    ) -> None:
        if not url:
            raise ValueError(
                "SerialMotorBase: serial url is empty (expected a device path, pty symlink or socket://host:port)"
            )
        self.url = url
        self.on_message = on_message
        self._baudrate = baudrate
        self._heartbeat_period_s = heartbeat_period_s
        self._silent_after_s = silent_after_s
        self._backoff_min_s = backoff_min_s
        self._backoff_max_s = backoff_max_s
        self._reopen_after_silent_s = reopen_after_silent_s
        self._read_timeout_s = read_timeout_s
        # A motion command lives this long unless renewed; checked on the heartbeat thread so the base
        # stops even when the host's callbacks stall (heartbeats alone would keep the last speed).
        self._motion_timeout_s = motion_timeout_s
        self._last_motion_s: float | None = None
        self._port: serial.SerialBase | None = None
        self._port_lock = threading.Lock()
        self._closed = threading.Event()
        self._heartbeat_enabled = threading.Event()
        self._heartbeat_enabled.set()
        self._decoder = FrameDecoder()
        self._threads: list[threading.Thread] = []
        self._ever_connected = False
        self._silent = False
        self._last_rx_s: float | None = None
        self._connected_at_s = 0.0
        self._seq = 0
        self.reconnects = 0
        self.silent_periods = 0
        self.open_failures = 0
        self.tx_frames = 0
        self.tx_errors = 0
        self.callback_errors = 0
        self.last_error = ""

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SerialMotorBase:
        if self._threads:
            return self
        for target, name in ((self._reader_loop, "reader"), (self._heartbeat_loop, "heartbeat")):
            thread = threading.Thread(target=target, name=f"serial-base-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self, timeout_s: float = 2.0) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self._drop_port()

    def __enter__(self) -> SerialMotorBase:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- public API -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._port is not None

    def send(self, msg: Message) -> bool:
        """Write one frame; False when the port is not open or the write failed (thread-safe)."""
        if isinstance(msg, VelocityCmd):
            self._last_motion_s = time.monotonic() if (msg.linear_mps or msg.angular_radps) else None
        frame = encode(msg)
        with self._port_lock:
            port = self._port
            if port is None:
                return False
            try:
                port.write(frame)
            except (serial.SerialException, OSError) as exc:
                self.tx_errors += 1
                self.last_error = f"write to {self.url} failed: {exc}"
                return False
        self.tx_frames += 1
        return True

    def set_heartbeat_enabled(self, enabled: bool) -> None:
        """Pause heartbeats (lets the base watchdog stop the motors, e.g. in tests or on fault)."""
        if enabled:
            self._heartbeat_enabled.set()
        else:
            self._heartbeat_enabled.clear()

    def stats(self) -> dict[str, Any]:
        last_rx_age_s = None if self._last_rx_s is None else time.monotonic() - self._last_rx_s
        return {
            "connected": self.connected,
            "frames_ok": self._decoder.frames_ok,
            "crc_errors": self._decoder.crc_errors,
            "garbage_bytes": self._decoder.garbage_bytes,
            "unknown_types": self._decoder.unknown_types,
            "bad_payloads": self._decoder.bad_payloads,
            "reconnects": self.reconnects,
            "open_failures": self.open_failures,
            "silent_periods": self.silent_periods,
            "silent": self._silent,
            "tx_frames": self.tx_frames,
            "tx_errors": self.tx_errors,
            "callback_errors": self.callback_errors,
            "last_rx_age_s": last_rx_age_s,
            "last_error": self.last_error,
        }

    # ---- threads --------------------------------------------------------------------------------

    def _open(self) -> bool:
        try:
            port = serial.serial_for_url(
                self.url, baudrate=self._baudrate, timeout=self._read_timeout_s, write_timeout=0.5
            )
            port.reset_input_buffer()  # bytes queued while nobody listened are stale
        except (serial.SerialException, OSError, ValueError) as exc:
            self.open_failures += 1
            self.last_error = f"cannot open {self.url}: {exc}"
            return False
        with self._port_lock:
            self._port = port
        if self._ever_connected:
            self.reconnects += 1
        self._ever_connected = True
        self._connected_at_s = time.monotonic()
        self._silent = False
        log.info("motor base connected on %s", self.url)
        return True

    def _drop_port(self) -> None:
        with self._port_lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def _reader_loop(self) -> None:
        backoff_s = self._backoff_min_s
        while not self._closed.is_set():
            port = self._port
            if port is None:
                if self._open():
                    backoff_s = self._backoff_min_s
                else:
                    self._closed.wait(backoff_s)
                    backoff_s = min(backoff_s * 2.0, self._backoff_max_s)
                continue
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # TypeError/AttributeError: pyserial internals after a concurrent close
                self.last_error = f"read from {self.url} failed: {exc}"
                log.warning("motor base link lost: %s", self.last_error)
                self._drop_port()
                continue
            now = time.monotonic()
            messages = self._decoder.feed(data) if data else []
            if messages:
                self._last_rx_s = now
                self._silent = False
            else:
                since_s = now - max(self._last_rx_s or 0.0, self._connected_at_s)
                if not self._silent and since_s > self._silent_after_s:
                    self._silent = True
                    self.silent_periods += 1
                    log.warning("motor base line %s silent for %.1f s", self.url, since_s)
                if since_s > self._reopen_after_silent_s:
                    # e.g. a stale link now naming another pty, or a wedged USB adapter
                    self.last_error = f"no frame from {self.url} for {since_s:.1f} s; reopening"
                    self._drop_port()
            for msg in messages:
                if self.on_message is None:
                    continue
                try:
                    self.on_message(msg)
                except Exception:  # a bad callback must not kill the link
                    self.callback_errors += 1
                    log.exception("on_message callback failed for %r", msg)

    def _heartbeat_loop(self) -> None:
        while not self._closed.wait(self._heartbeat_period_s):
            last_motion_s = self._last_motion_s
            if (
                self._motion_timeout_s is not None
                and last_motion_s is not None
                and time.monotonic() - last_motion_s > self._motion_timeout_s
            ):
                self.send(VelocityCmd(0.0, 0.0))  # the motion command expired: stop, once
            if self._heartbeat_enabled.is_set() and self.connected:
                if self.send(Heartbeat(self._seq)):
                    self._seq = (self._seq + 1) & 0xFFFFFFFF
