"""Start, watch and stop the demo hall's processes (each in its own process group)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path


class Supervisor:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        """Start ``python args...`` with output to ``<log_dir>/<name>.log``."""
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env or os.environ.copy(),
                start_new_session=True,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        log.info("started %s (pid %d)", name, process.pid)
        return child

    def dead(self) -> list[Child]:
        """Children that exited on their own."""
        return [c for c in self.children if c.process.poll() is not None]

    def stop_all(self, timeout_s: float = 8.0) -> None:
        """SIGTERM every child (robots first, fleet manager last), then SIGKILL what remains.

        A second Ctrl-C meanwhile is ignored: it must not leave half the hall running.
        """
        with _signals_ignored():
            self._stop_all(timeout_s)

    def _stop_all(self, timeout_s: float) -> None:
        for child in reversed(self.children):
            self._signal(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name)
                self._signal(child, signal.SIGKILL)
                child.process.wait(5)

    @staticmethod
    def _signal(child: Child, sig: int) -> None:
        if child.process.poll() is None:
            try:
                os.killpg(child.process.pid, sig)
            except ProcessLookupError:
                pass


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def interrupted_by_signals() -> Iterator[None]:
    """Inside, Ctrl-C and SIGTERM raise KeyboardInterrupt in the main thread.

    Installed explicitly because a shell starts background jobs with SIGINT ignored, which Python
    inherits, and SIGTERM would otherwise end the process without stopping its children.
    """

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
