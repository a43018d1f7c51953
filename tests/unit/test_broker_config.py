"""Mosquitto config text for a fleet: per-vehicle ACL blocks, listener address, TLS only when given."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hallfleet.fleet_file import FleetFileError, load_fleet
from hallfleet_apps.broker_config import (
    BrokerConfigError,
    ListenerSettings,
    TlsFiles,
    acl_text,
    fleet_users,
    mosquitto_conf_text,
    new_passwords,
    tls_files,
)
from hallfleet_apps.cli_broker import broker_app

FLEET = """manufacturer: HallFleet
robots:
  - {id: va, kind: delivery, home: dock-1}
  - {id: vb, kind: guidance, home: wait-A}
  - {id: x7, kind: thirdparty, home: dock-3, manufacturer: OtherMake}
"""


def _fleet(tmp_path: Path, text: str = FLEET) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _blocks(acl: str) -> dict[str, list[str]]:
    """user -> its topic lines, parsed back from the ACL text."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in acl.splitlines():
        if line.startswith("user "):
            current = blocks.setdefault(line.removeprefix("user "), [])
        elif line.startswith("topic "):
            assert current is not None, f"topic line outside a user block: {line}"
            current.append(line)
    return blocks


def test_acl_has_one_block_per_vehicle_with_exactly_its_own_topics(tmp_path: Path) -> None:
    blocks = _blocks(acl_text(fleet_users(load_fleet(_fleet(tmp_path)))))
    assert set(blocks) == {"fleet", "elevators", "HallFleet-va", "HallFleet-vb", "OtherMake-x7"}
    base = "uagv/v2/HallFleet/va"
    assert sorted(blocks["HallFleet-va"]) == sorted(
        [
            f"topic read {base}/order",
            f"topic read {base}/instantActions",
            f"topic write {base}/state",
            f"topic write {base}/connection",
            f"topic write {base}/factsheet",
            f"topic write {base}/visualization",
        ]
    )
    assert all("uagv/v2/OtherMake/x7/" in line for line in blocks["OtherMake-x7"])
    for user in ("HallFleet-va", "HallFleet-vb", "OtherMake-x7"):
        assert not any("+" in line or "#" in line for line in blocks[user]), user


def test_fleet_and_elevator_users_cover_the_topics_they_use(tmp_path: Path) -> None:
    blocks = _blocks(acl_text(fleet_users(load_fleet(_fleet(tmp_path)))))
    assert "topic read uagv/v2/#" in blocks["fleet"]
    assert "topic write uagv/v2/+/+/order" in blocks["fleet"]
    assert "topic write uagv/v2/+/+/instantActions" in blocks["fleet"]
    assert "topic write hallfleet/elevators/+/request" in blocks["fleet"]
    assert "topic read hallfleet/elevators/+/state" in blocks["fleet"]
    assert sorted(blocks["elevators"]) == [
        "topic read hallfleet/elevators/+/request",
        "topic write hallfleet/elevators/+/state",
    ]


def test_listener_binds_given_address_and_refuses_anonymous() -> None:
    conf = mosquitto_conf_text(ListenerSettings(8883, "10.0.0.5"), Path("/etc/m/acl"), Path("/etc/m/passwd"))
    lines = conf.splitlines()
    assert "listener 8883 10.0.0.5" in lines
    assert "allow_anonymous false" in lines
    assert "acl_file /etc/m/acl" in lines and "password_file /etc/m/passwd" in lines
    assert "set_tcp_nodelay true" in lines  # telemetry latency: no Nagle delay on small messages
    assert "listener 1883 127.0.0.1" in mosquitto_conf_text(ListenerSettings(), Path("a"), Path("p")).splitlines()


def test_tls_lines_only_when_given() -> None:
    plain = mosquitto_conf_text(ListenerSettings(), Path("a"), Path("p"))
    assert not any(word in plain for word in ("certfile", "keyfile", "cafile"))
    tls = TlsFiles(Path("/c/server.crt"), Path("/c/server.key"), Path("/c/ca.crt"))
    lines = mosquitto_conf_text(ListenerSettings(8883, "127.0.0.1", tls), Path("a"), Path("p")).splitlines()
    assert {"certfile /c/server.crt", "keyfile /c/server.key", "cafile /c/ca.crt"} <= set(lines)
    no_ca = mosquitto_conf_text(
        ListenerSettings(tls=TlsFiles(Path("/c/s.crt"), Path("/c/s.key"))), Path("a"), Path("p")
    )
    assert "certfile /c/s.crt" in no_ca and "cafile" not in no_ca


def test_tls_options_must_come_together() -> None:
    assert tls_files(None, None, None) is None
    with pytest.raises(BrokerConfigError, match="--tls-key"):
        tls_files(Path("/c/s.crt"), None, None)
    with pytest.raises(BrokerConfigError, match="--tls-ca"):
        tls_files(None, None, Path("/c/ca.crt"))


def test_each_user_gets_its_own_password(tmp_path: Path) -> None:
    users = fleet_users(load_fleet(_fleet(tmp_path)))
    passwords = new_passwords(users)
    assert set(passwords) == {u.username for u in users}
    assert len(set(passwords.values())) == len(users)


def test_malformed_fleet_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = _fleet(tmp_path, "robots:\n  - {id: va, kind: spaceship, home: dock-1}\n")
    with pytest.raises(FleetFileError, match=r"robots\[0\]\.kind"):
        load_fleet(path)
    result = CliRunner().invoke(broker_app, ["config", "--fleet", str(path), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "robots[0].kind" in result.output
    assert not (tmp_path / "out").exists()


def test_manufacturer_that_cannot_be_a_topic_level_is_rejected(tmp_path: Path) -> None:
    fleet = load_fleet(_fleet(tmp_path, "manufacturer: Acme/Robots\nrobots:\n  - {id: va, kind: delivery, home: d}\n"))
    with pytest.raises(BrokerConfigError, match="Acme/Robots"):
        fleet_users(fleet)
