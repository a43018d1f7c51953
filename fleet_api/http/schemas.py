"""Request and response bodies of the HTTP API (validated by FastAPI, documented at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class PartyIn(BaseModel):
    place_id: str = Field(min_length=1, max_length=64, examples=["win-A01"])
    person: str = Field(min_length=1, max_length=64, examples=["王敏"])


class DocumentIn(BaseModel):
    barcode: str = Field(min_length=1, max_length=64, examples=["SH-2026-000123"])
    title: str = Field(default="", max_length=200, examples=["营业执照申请表"])


class DeliveryIn(BaseModel):
    sender: PartyIn
    recipient: PartyIn
    documents: list[DocumentIn] = Field(min_length=1, max_length=50)
    priority: Literal["normal", "urgent"] = "normal"
    note: str = Field(default="", max_length=500)


class PersonIn(BaseModel):
    person: str = Field(min_length=1, max_length=64)


class AlternateIn(BaseModel):
    """An alternate recipient of the same department, named by a clerk when the recipient is absent."""

    person: str = Field(min_length=1, max_length=64, examples=["张华"])
    by: str = Field(min_length=1, max_length=64, examples=["李科长"])


class UnlockIn(BaseModel):
    pin: str = Field(min_length=4, max_length=12, pattern=r"^\d+$")
    person: str = Field(min_length=1, max_length=64)


class QuestionIn(BaseModel):
    text: str = Field(min_length=1, max_length=500, examples=["办营业执照要带什么材料？"])
    language: Literal["zh-CN", "en", "auto"] = "zh-CN"
    robot_id: str | None = None
