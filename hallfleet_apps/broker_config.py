"""Production Mosquitto configuration for a fleet: one broker user per vehicle, ACLs, optional TLS.

Why: with the embedded broker anyone on loopback may publish anything. In production every vehicle
gets its own user and may publish only its own ``state``/``connection``/``factsheet``/
``visualization`` and read only its own ``order``/``instantActions``, so a vehicle cannot pose as
another. The fleet manager and the elevator controller get their own users.

Everything here is pure text building except :func:`hash_passwords`, the small adapter that asks
``mosquitto_passwd`` (Debian package ``mosquitto``) to hash the password file.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hallfleet.fleet_file import FleetSpec
from hallfleet.protocol import elevator as ev
from hallfleet.protocol import vda5050 as v

FLEET_USER = "fleet"
ELEVATOR_USER = "elevators"
VEHICLE_WRITES = ("state", "connection", "factsheet", "visualization")
VEHICLE_READS = ("order", "instantActions")
CONF_NAME, ACL_NAME, PASSWD_NAME = "mosquitto.conf", "acl", "passwd"
# Characters that would break a topic level, an ACL line or the user:hash password file.
_SAFE = re.compile(r"^[A-Za-z0-9_.\-]+$")


class BrokerConfigError(ValueError):
    """The broker configuration cannot be built; the message names the input that is wrong."""


@dataclass(frozen=True)
class BrokerUser:
    """One broker account and the topic filters it may read and write."""

    username: str
    read: tuple[str, ...]
    write: tuple[str, ...]
    comment: str = ""


@dataclass(frozen=True)
class TlsFiles:
    certfile: Path
    keyfile: Path
    cafile: Path | None = None


@dataclass(frozen=True)
class ListenerSettings:
    port: int = 1883
    bind_address: str = "127.0.0.1"
    tls: TlsFiles | None = None


def vehicle_username(manufacturer: str, serial_number: str) -> str:
    """Broker user of one vehicle: ``{manufacturer}-{serialNumber}``."""
    for what, value in (("manufacturer", manufacturer), ("serialNumber", serial_number)):
        if not _SAFE.match(value):
            raise BrokerConfigError(
                f"{what} {value!r}: only letters, digits, '_', '.', '-' can be a topic level and a broker user"
            )
    return f"{manufacturer}-{serial_number}"


def vehicle_user(manufacturer: str, serial_number: str) -> BrokerUser:
    """A vehicle writes only its own state-side topics and reads only its own order-side topics."""
    return BrokerUser(
        vehicle_username(manufacturer, serial_number),
        read=tuple(v.topic(manufacturer, serial_number, kind) for kind in VEHICLE_READS),
        write=tuple(v.topic(manufacturer, serial_number, kind) for kind in VEHICLE_WRITES),
        comment=f"vehicle {manufacturer}/{serial_number}",
    )


def fleet_user() -> BrokerUser:
    """The fleet manager reads every vehicle topic, sends orders/instantActions, drives elevators."""
    any_vehicle = f"{v.INTERFACE}/{v.MAJOR}/+/+"
    return BrokerUser(
        FLEET_USER,
        read=(f"{v.INTERFACE}/{v.MAJOR}/#", ev.STATE_TOPIC_FILTER),
        write=(f"{any_vehicle}/order", f"{any_vehicle}/instantActions", ev.REQUEST_TOPIC_FILTER),
        comment="fleet manager",
    )


def elevator_user() -> BrokerUser:
    """The elevator controller reads requests and publishes car states."""
    return BrokerUser(
        ELEVATOR_USER, read=(ev.REQUEST_TOPIC_FILTER,), write=(ev.STATE_TOPIC_FILTER,), comment="elevator controller"
    )


def fleet_users(fleet: FleetSpec) -> tuple[BrokerUser, ...]:
    """Fleet manager, elevator controller, then one user per vehicle of the fleet file."""
    users = [fleet_user(), elevator_user()]
    seen = {user.username for user in users}
    for robot in fleet.robots:
        try:
            user = vehicle_user(robot.manufacturer, robot.robot_id)
        except BrokerConfigError as exc:
            raise BrokerConfigError(f"{fleet.source}: robot {robot.robot_id!r}: {exc}") from None
        if user.username in seen:
            raise BrokerConfigError(
                f"{fleet.source}: robot {robot.robot_id!r}: broker user {user.username!r} is already taken"
            )
        seen.add(user.username)
        users.append(user)
    return tuple(users)


def acl_text(users: tuple[BrokerUser, ...]) -> str:
    """Mosquitto ACL file: one ``user`` block per account, nothing for anonymous clients."""
    lines = ["# Mosquitto ACL written by `hallfleet broker config`; one block per broker user."]
    for user in users:
        lines += ["", f"# {user.comment}" if user.comment else "#", f"user {user.username}"]
        lines += [f"topic read {t}" for t in user.read]
        lines += [f"topic write {t}" for t in user.write]
    return "\n".join(lines) + "\n"


def mosquitto_conf_text(listener: ListenerSettings, acl_path: Path, passwd_path: Path) -> str:
    """``mosquitto.conf``: authenticated users only, the ACL file, one listener, TLS when given."""
    if not 0 < listener.port < 65536:
        raise BrokerConfigError(f"port {listener.port}: expected 1..65535")
    lines = [
        "# Mosquitto configuration written by `hallfleet broker config`.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {passwd_path}",
        f"acl_file {acl_path}",
        "# The fleet's telemetry bursts; Mosquitto's default of 1000 drops messages under load.",
        "max_queued_messages 10000",
        "# Small VDA 5050 messages must not wait for Nagle (bench/telemetry.py: p99 45 ms -> 8 ms).",
        "set_tcp_nodelay true",
        "",
        f"listener {listener.port} {listener.bind_address}",
    ]
    if listener.tls:
        lines += [f"certfile {listener.tls.certfile}", f"keyfile {listener.tls.keyfile}"]
        if listener.tls.cafile:
            lines.append(f"cafile {listener.tls.cafile}")
    return "\n".join(lines) + "\n"


def tls_files(cert: Path | None, key: Path | None, ca: Path | None) -> TlsFiles | None:
    """TLS needs a certificate and its key together; a CA alone makes no TLS listener."""
    if cert is None and key is None:
        if ca is not None:
            raise BrokerConfigError("--tls-ca given without --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise BrokerConfigError("--tls-cert and --tls-key must be given together")
    return TlsFiles(cert.resolve(), key.resolve(), ca.resolve() if ca else None)


def new_passwords(users: tuple[BrokerUser, ...], nbytes: int = 18) -> dict[str, str]:
    """A fresh random URL-safe password per user (usable in ``mqtt://user:pass@host``)."""
    return {user.username: secrets.token_urlsafe(nbytes) for user in users}


def hash_passwords(passwords: dict[str, str], timeout_s: float = 30.0) -> str:
    """Adapter: the Mosquitto password-file text with each password hashed by ``mosquitto_passwd``."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise BrokerConfigError("mosquitto_passwd not found: install the Debian package 'mosquitto'")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / PASSWD_NAME
        path.write_text("".join(f"{user}:{password}\n" for user, password in passwords.items()), encoding="utf-8")
        path.chmod(0o600)
        # -U hashes a plain user:password file in one run instead of one process per user.
        result = subprocess.run([tool, "-U", str(path)], capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0:
            raise BrokerConfigError(f"mosquitto_passwd failed ({result.returncode}): {result.stderr.strip()}")
        return path.read_text(encoding="utf-8")
