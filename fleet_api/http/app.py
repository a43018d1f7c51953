"""FastAPI application factory: wires settings, store, site, knowledge base, broker and MQTT master.

This is the one place where the fleet manager's parts are assembled (the "bootstrap").
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from fleet_api.adapters.embedded_broker import EmbeddedBroker
from fleet_api.adapters.mqtt_master import MqttFleetMaster
from fleet_api.adapters.store import SqlStore
from fleet_api.domain.absence import AbsenceRule
from fleet_api.domain.deliveries import DeliveryValidationError, IllegalTransition
from fleet_api.domain.waiting import WaitRule
from fleet_api.http import routes_api, routes_clerk, routes_figures, routes_kiosk, routes_pages, routes_queue
from fleet_api.service import FleetError, FleetService
from fleet_api.settings import Settings
from hallfleet.fleet_file import load_fleet
from hallfleet.knowledge import KnowledgeBase, effective_catalog_path
from maps.site import load_site

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


@dataclass
class Runtime:
    settings: Settings
    service: FleetService
    master: MqttFleetMaster | None = None
    broker: EmbeddedBroker | None = None


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        site = load_site(settings.site_dir)
        store = SqlStore(settings.effective_database_url)
        knowledge = KnowledgeBase.load(effective_catalog_path(settings.data_dir, settings.site_dir))
        service = FleetService(site, store, knowledge)
        for spec in load_fleet(settings.fleet_file).robots:
            service.register_robot(spec.robot_id, spec.manufacturer, spec.kind, spec.home_place_id)
        resumed = service.resume_runs()  # before the link starts: the robots' first states find their trips
        if resumed:
            log.info("resumed %d delivery trip(s) after a restart: %s", len(resumed), ", ".join(resumed))
        broker = None
        if settings.mqtt_url is None:
            broker = EmbeddedBroker(port=settings.embedded_broker_port)
            await broker.start()
        master = MqttFleetMaster(
            settings.effective_mqtt_url,
            asyncio.get_running_loop(),
            service.handle_vehicle,
            service.handle_elevator,
            on_connected=service.resync,
        )
        service.link = master
        master.start()
        service.wait_rule = WaitRule(settings.wait_limit_min, settings.visit_stay_min, settings.time_scale)
        service.absence_rule = AbsenceRule(settings.recipient_wait_min, settings.time_scale)
        wait_watch = asyncio.create_task(service.watch_waiting())
        app.state.runtime = Runtime(settings, service, master, broker)
        # Start-up leaves ~140k long-lived objects (site, maps, models); a full collection over them
        # stalled the loop 100-170 ms under telemetry load (bench/telemetry.py). Move them out of GC.
        gc.collect()
        gc.freeze()
        log.info(
            "fleet manager up: http://%s:%d  mqtt %s",
            settings.http_host,
            settings.http_port,
            settings.effective_mqtt_url,
        )
        try:
            yield
        finally:
            wait_watch.cancel()
            master.stop()
            if broker is not None:
                await broker.stop()
            store.close()

    app = FastAPI(
        title="HallFleet fleet manager",
        version="0.1.0",
        lifespan=lifespan,
        description="Document delivery and visitor guidance robots of a government service hall.",
    )
    app.include_router(routes_api.router)
    app.include_router(routes_pages.router)
    app.include_router(routes_figures.router)
    app.include_router(routes_queue.router)
    app.include_router(routes_kiosk.router)
    app.include_router(routes_clerk.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.exception_handler(FleetError)
    async def _fleet_error(_request: Request, exc: FleetError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(IllegalTransition)
    async def _illegal(_request: Request, exc: IllegalTransition) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(DeliveryValidationError)
    async def _invalid(_request: Request, exc: DeliveryValidationError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    return app
