"""Start, watch and stop the demo hall's processes (each in its own process group)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
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
                [sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env or os.environ.copy(), start_new_session=True,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        log.info("started %s (pid %d)", name, process.pid)
        return child

    def dead(self) -> list[Child]:
        """Children that exited on their own."""
        return [c for c in self.children if c.process.poll() is not None]

    def stop_all(self, timeout_s: float = 8.0) -> None:
        """SIGTERM every child (robots first, fleet manager last), then SIGKILL what remains."""
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
