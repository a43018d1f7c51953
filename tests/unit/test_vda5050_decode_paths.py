"""decode() parses with pydantic-core for speed; it must accept, convert and reject exactly what
``json.loads`` + ``model_validate`` (the reference path) does, with the same field in errors."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from hallfleet.protocol import vda5050 as v

POSITION = '{"x": 1, "y": 2.5, "theta": -0.5, "mapId": "floor1"}'
HEADER = (
    '"headerId": 7, "timestamp": "2025-01-01T00:00:00.123456Z", "version": "2.1.0", '
    '"manufacturer": "M", "serialNumber": "S"'
)

VISUALIZATION = [
    "{" + HEADER + ', "agvPosition": ' + POSITION + ', "velocity": {"vx": 0, "vy": 0.5, "omega": 1}}',
    "{" + HEADER + "}",
    "{}",
    '{"headerId": "7", "agvPosition": null}',  # lax: numeric string
    '{"headerId": 7.0}',
    '{"headerId": true}',
    '{"headerId": 7.5}',
    '{"agvPosition": {"x": NaN, "y": Infinity, "theta": 0, "mapId": "m"}}',  # json.loads accepts these
    '{"agvPosition": {"x": "far", "y": 0, "theta": 0, "mapId": "m"}}',
    '{"agvPosition": {"x": 0, "y": 0, "theta": 0}}',
    '{"agvPosition": {"x": 0, "y": 0, "theta": 0, "mapId": 5}}',
    '{"agvPosition": [1, 2]}',
    '{"velocity": {"vx": "1.5"}, "unknownField": {"nested": [1, 2]}}',
    '{"manufacturer": "\\u6d4b\\u8bd5", "serialNumber": "\\ud83d\\ude00"}',
    "[]",
    "null",
    '"text"',
]
STATE = [
    "{"
    + HEADER
    + ', "batteryState": {"batteryCharge": 90, "charging": false}, "agvPosition": '
    + POSITION
    + ', "actionStates": [{"actionId": "a1", "actionStatus": "RUNNING"}], '
    + '"errors": [{"errorType": "e", "errorLevel": "FATAL"}], "safetyState": {"eStop": "REMOTE"}}',
    "{" + HEADER + ', "batteryState": {"batteryCharge": 90, "charging": false}, "operatingMode": "DANCING"}',
    "{" + HEADER + ', "batteryState": {"batteryCharge": 90, "charging": "yes"}}',
    "{"
    + HEADER
    + ', "batteryState": {"batteryCharge": 90, "charging": false}, '
    + '"actionStates": [{"actionId": "a1", "actionStatus": "SLEEPING"}]}',
    "{" + HEADER + "}",
]
CONNECTION = ["{" + HEADER + ', "connectionState": "ONLINE"}', "{" + HEADER + ', "connectionState": "LOST"}']


def _reference(kind: str, payload: str) -> v._Model | str:
    try:
        return v._MODELS[kind].model_validate(json.loads(payload))
    except ValidationError as exc:
        return ".".join(str(p) for p in exc.errors()[0]["loc"]) or "(message)"


@pytest.mark.parametrize(
    ("kind", "payload"),
    [("visualization", p) for p in VISUALIZATION]
    + [("state", p) for p in STATE]
    + [("connection", p) for p in CONNECTION],
)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_decode_matches_the_reference_path(kind: str, payload: str, as_bytes: bool) -> None:
    expected = _reference(kind, payload)
    data = payload.encode() if as_bytes else payload
    if isinstance(expected, str):
        with pytest.raises(v.ProtocolError) as excinfo:
            v.decode(kind, data, f"uagv/v2/M/S/{kind}")
        assert str(excinfo.value).startswith(f"uagv/v2/M/S/{kind}: field {expected}: ")
    else:
        decoded = v.decode(kind, data, f"uagv/v2/M/S/{kind}")
        assert type(decoded) is type(expected)
        assert repr(decoded) == repr(expected)  # repr: NaN never equals itself
        assert decoded.model_fields_set == expected.model_fields_set
        assert decoded.to_dict().keys() == expected.to_dict().keys()


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    with pytest.raises(v.ProtocolError, match=r"^uagv/v2/M/S/visualization: not JSON"):
        v.decode("visualization", b"[" * 100_000, "uagv/v2/M/S/visualization")
