"""Point the ROS wheels' CMake export files at this venv's Python and numpy headers.

The PyPI wheels were built in a manylinux container; their installed ``*.cmake`` files still name
that container's include directories (``/opt/python/cpXY-cpXY/...``), which breaks building our own
interface package against them. Rewriting those paths is idempotent.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy

_PY_INCLUDE = re.compile(r"/opt/python/cp\d+-cp\d+/include/python3\.\d+")
_NUMPY_INCLUDE = re.compile(r"/opt/python/cp\d+-cp\d+/lib/python3\.\d+/site-packages/numpy/_?core/include")


def fix(prefix: Path) -> int:
    """Rewrite every CMake file under ``prefix/share``; return how many changed."""
    py_include = sysconfig.get_paths()["include"]
    numpy_include = numpy.get_include()
    changed = 0
    for path in (prefix / "share").rglob("*.cmake"):
        text = path.read_text(encoding="utf-8")
        if "/opt/python/" not in text:
            continue
        new = _NUMPY_INCLUDE.sub(numpy_include, text)
        new = _PY_INCLUDE.sub(py_include, new)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed += 1
    return changed


if __name__ == "__main__":
    print(f"fixed {fix(Path(sys.prefix))} cmake files", file=sys.stderr)
