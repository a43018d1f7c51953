"""``hallfleet broker config``: write a production Mosquitto configuration for a fleet file."""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Annotated, Optional

import typer

from hallfleet.fleet_file import FleetFileError, load_fleet
from hallfleet.paths import DEFAULT_FLEET
from hallfleet_apps.broker_config import (
    ACL_NAME,
    CONF_NAME,
    PASSWD_NAME,
    BrokerConfigError,
    ListenerSettings,
    acl_text,
    fleet_users,
    hash_passwords,
    mosquitto_conf_text,
    new_passwords,
    tls_files,
)

broker_app = typer.Typer(help="Production MQTT broker (Mosquitto) set-up.", no_args_is_help=True)

BROKER_OS_USER = "mosquitto"


@broker_app.callback()
def _broker() -> None:
    """Production MQTT broker (Mosquitto) set-up."""


def _write_private(path: Path, text: str) -> None:
    """0640 and, when run as root, owned by the user Mosquitto drops privileges to (root 0600 fails)."""
    path.write_text(text, encoding="utf-8")
    path.chmod(0o640)
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(BROKER_OS_USER)
        except KeyError:
            return
        os.chown(path, account.pw_uid, account.pw_gid)


@broker_app.command("config")
def broker_config(
    fleet: Annotated[Path, typer.Option("--fleet", help="fleet file listing the vehicles")] = DEFAULT_FLEET,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="where mosquitto.conf, acl and passwd are written")] = Path(
        "data/mosquitto"
    ),
    port: Annotated[int, typer.Option(help="listener port")] = 1883,
    bind: Annotated[str, typer.Option("--bind", help="listener address")] = "127.0.0.1",
    tls_cert: Annotated[Optional[Path], typer.Option("--tls-cert", help="server certificate (PEM)")] = None,
    tls_key: Annotated[Optional[Path], typer.Option("--tls-key", help="server private key (PEM)")] = None,
    tls_ca: Annotated[Optional[Path], typer.Option("--tls-ca", help="CA certificate (PEM)")] = None,
) -> None:
    """Write mosquitto.conf, acl and passwd: one user per vehicle, fleet and elevator users; print passwords once."""
    try:
        users = fleet_users(load_fleet(fleet))
        listener = ListenerSettings(port, bind, tls_files(tls_cert, tls_key, tls_ca))
        out_dir = out_dir.resolve()
        conf = mosquitto_conf_text(listener, out_dir / ACL_NAME, out_dir / PASSWD_NAME)
        passwords = new_passwords(users)
        passwd = hash_passwords(passwords)
    except (FleetFileError, BrokerConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_private(out_dir / ACL_NAME, acl_text(users))
    _write_private(out_dir / PASSWD_NAME, passwd)
    _write_private(out_dir / CONF_NAME, conf)
    typer.echo(f"wrote {out_dir / CONF_NAME}, {out_dir / ACL_NAME}, {out_dir / PASSWD_NAME}", err=True)
    typer.echo(f"run: mosquitto -c {out_dir / CONF_NAME}", err=True)
    typer.echo("passwords (shown once, only hashes are stored):", err=True)
    scheme = "mqtts" if listener.tls else "mqtt"
    for user in users:
        password = passwords[user.username]
        typer.echo(f"{user.username}\t{password}\t{scheme}://{user.username}:{password}@{bind}:{port}")
