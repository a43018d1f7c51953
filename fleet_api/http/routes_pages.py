"""The web pages for clerks, visitors and technicians (static HTML; data comes from /api)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
router = APIRouter()


@router.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    return RedirectResponse("/clerk")


@router.get("/clerk", include_in_schema=False)
def clerk() -> FileResponse:
    return FileResponse(WEB_DIR / "clerk.html")


@router.get("/kiosk", include_in_schema=False)
def kiosk() -> FileResponse:
    return FileResponse(WEB_DIR / "kiosk.html")


@router.get("/technician", include_in_schema=False)
def technician() -> FileResponse:
    return FileResponse(WEB_DIR / "technician.html")
