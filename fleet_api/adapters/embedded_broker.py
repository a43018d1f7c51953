"""The embedded MQTT broker (amqtt) that lets the demo hall run with nothing installed.

Production uses Mosquitto or EMQX (``--mqtt-url``). amqtt's default listener is 0.0.0.0: we always
bind 127.0.0.1 explicitly.
"""

from __future__ import annotations

import logging

from amqtt.broker import Broker

for noisy in ("amqtt", "transitions"):
    logging.getLogger(noisy).setLevel(logging.WARNING)


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 18830) -> None:
        self.host, self.port = host, port
        self._broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 200}},
                "sys_interval": 0,
                "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
                "topic-check": {"enabled": False},
            }
        )

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        await self._broker.start()

    async def stop(self) -> None:
        await self._broker.shutdown()
