"""Validators for the official VDA 5050 2.1.0 JSON schemas the project carries (hallfleet/protocol/schemas)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

from hallfleet.protocol import vda5050 as v

SCHEMA_DIR = Path(v.__file__).resolve().parent / "schemas"
KINDS = ("connection", "factsheet", "state", "visualization", "order", "instantActions")


def _fix_factsheet_blocking_types(schema: dict) -> None:
    """The official 2.1.0 factsheet.schema puts the enum of blockingTypes on the array itself, so no array
    can ever match; the standard's text (6.15.1) says "array of enum". Validate against the intended schema."""
    blocking = schema["properties"]["protocolFeatures"]["properties"]["agvActions"]["items"]["properties"][
        "blockingTypes"
    ]
    if "enum" in blocking and blocking.get("type") == "array":
        blocking["items"] = {"type": "string", "enum": blocking.pop("enum")}


@cache
def validator(kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema").read_text(encoding="utf-8"))
    if kind == "factsheet":
        _fix_factsheet_blocking_types(schema)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(kind: str, message: dict) -> list[str]:
    """Every way ``message`` breaks the official schema of ``kind`` (empty when it conforms)."""
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in validator(kind).iter_errors(message)]
