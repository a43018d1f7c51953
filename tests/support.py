"""Small helpers shared by the integration and end-to-end tests (tests/ is on sys.path via conftest)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, driven by Playwright without its own browser download
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, timeout_s: float = 5.0) -> object:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.loads(response.read())


def processes_mentioning(text: str) -> list[int]:
    """PIDs (other than this one) whose command line contains ``text``: what a test left running."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@contextmanager
def launched_chromium(sync_api: Any) -> Iterator[Any]:
    """Headless :data:`CHROMIUM` through Playwright's ``sync_api`` (passed in: only e2e tests have it)."""
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        yield chromium
        chromium.close()


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> None:
    """Ask a process to stop (it may stop its own children first), then SIGKILL it: always reaped."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def fleet_manager_for_pages(data_dir: Path, startup_timeout_s: float = 60.0) -> Iterator[str]:
    """Base URL of a fleet manager (demo hall site and fleet, embedded broker, no robot running) on free
    loopback ports, for page tests; stopped when the block ends, also on failure."""
    import sys
    import time
    import urllib.error

    http_port, broker_port = free_port(), free_port()
    code = (
        "import uvicorn; from fleet_api.http.app import create_app; from fleet_api.settings import Settings; "
        f"uvicorn.run(create_app(Settings(http_port={http_port}, embedded_broker_port={broker_port}, "
        f"data_dir={str(data_dir)!r})), host='127.0.0.1', port={http_port}, log_level='warning')"
    )
    log_path = data_dir / "fleet.log"
    repo_root = Path(__file__).resolve().parents[1]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=repo_root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + startup_timeout_s
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"fleet manager exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                get_json(url + "/api/health")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"fleet manager not up after {startup_timeout_s} s:\n{log_path.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        stop_process(proc, timeout_s=10.0)
