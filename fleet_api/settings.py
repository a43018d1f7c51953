"""The fleet manager's settings: one validated object, from arguments or HALLFLEET_* environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hallfleet.paths import DEFAULT_FLEET, DEFAULT_SITE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HALLFLEET_")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    mqtt_url: str | None = None  # None: start the embedded broker
    embedded_broker_port: int = 18830
    data_dir: Path = Path("data")
    database_url: str | None = None  # None: SQLite file in data_dir
    site_dir: Path = DEFAULT_SITE
    fleet_file: Path = DEFAULT_FLEET
    wait_limit_min: float = Field(15.0, gt=0)  # a ticket waiting longer gets a guidance robot's visit
    visit_stay_min: float = Field(2.0, ge=0)  # after greeting, the robot stays this long before going home
    # A robot at the destination waits this long (hall minutes) for the recipient, then notifies again
    # and waits once more; nobody by then: the files go back to the sender (fleet_api/domain/absence.py).
    recipient_wait_min: float = Field(10.0, gt=0)
    # The simulated demo hall runs faster than the wall clock: queue waiting times are multiplied by
    # this (the demo passes its time scale; 1 in a real hall).
    time_scale: float = Field(1.0, gt=0)

    @field_validator("http_host")
    @classmethod
    def _loopback_only(cls, host: str) -> str:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"http_host {host!r}: this deployment binds loopback only (127.0.0.1)")
        return host

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'hallfleet.db').resolve()}"

    @property
    def effective_mqtt_url(self) -> str:
        return self.mqtt_url or f"mqtt://127.0.0.1:{self.embedded_broker_port}"
