"""Hand-over PIN hashing shared by the fleet manager and the robots.

The fleet sends only PIN hashes to a robot (in VDA 5050 action parameters); the robot checks a
typed PIN against the hash with the very same function. Standard library only, so any robot can
import it without pulling fleet dependencies.

Stored format: ``"<salt>$<hex pbkdf2-sha256>"``. The iteration count is modest on purpose: a PIN
check happens on a robot's small CPU while a person waits at the compartment door.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PIN_DIGITS = 6
PBKDF2_ITERATIONS = 20_000
_SEPARATOR = "$"


class PinFormatError(ValueError):
    """A PIN or a stored PIN hash is malformed."""


def _check_pin(pin: str) -> None:
    if not isinstance(pin, str) or len(pin) != PIN_DIGITS or not pin.isdigit() or not pin.isascii():
        raise PinFormatError(f"PIN must be exactly {PIN_DIGITS} ASCII digits, got {pin!r}")


def _digest(pin: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt.encode("utf-8"), PBKDF2_ITERATIONS).hex()


def hash_pin(pin: str, salt: str | None = None) -> str:
    """Hash a 6-digit PIN as ``salt$hex``; a random salt is drawn when none is given."""
    _check_pin(pin)
    if salt is None:
        salt = secrets.token_hex(8)
    if not salt or _SEPARATOR in salt:
        raise PinFormatError(f"salt must be non-empty and must not contain {_SEPARATOR!r}, got {salt!r}")
    return f"{salt}{_SEPARATOR}{_digest(pin, salt)}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches ``stored`` (from :func:`hash_pin`). Malformed input is just False."""
    if not isinstance(pin, str) or not isinstance(stored, str):
        return False
    salt, sep, expected_hex = stored.partition(_SEPARATOR)
    if not sep or not salt or not expected_hex:
        return False
    try:
        _check_pin(pin)
    except PinFormatError:
        return False
    return hmac.compare_digest(_digest(pin, salt), expected_hex)
