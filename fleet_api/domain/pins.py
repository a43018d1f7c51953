"""PINs for document hand-overs: drawing new ones (fleet only) and hashing/verifying them.

Hashing lives in :mod:`hallfleet.protocol.pins` because robots verify with the same code.
"""

from __future__ import annotations

import random
import secrets
from types import ModuleType

from hallfleet.protocol.pins import PIN_DIGITS, PinFormatError, hash_pin, verify_pin

__all__ = ["PIN_DIGITS", "PinFormatError", "generate_pin", "hash_pin", "verify_pin"]


def generate_pin(rng: random.Random | ModuleType | None = None) -> str:
    """A fresh 6-digit PIN (leading zeros kept).

    ``rng`` may be a seeded ``random.Random`` (tests, simulation) or the ``secrets`` module;
    the default is the operating system's CSPRNG.
    """
    upper = 10**PIN_DIGITS
    if rng is None:
        value = secrets.randbelow(upper)
    elif hasattr(rng, "randrange"):
        value = rng.randrange(upper)
    elif hasattr(rng, "randbelow"):
        value = rng.randbelow(upper)
    else:
        raise TypeError(f"rng must offer randrange() or randbelow(), got {type(rng).__name__}")
    return f"{value:0{PIN_DIGITS}d}"
