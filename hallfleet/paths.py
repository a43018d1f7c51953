"""Where the sample data of a checkout lives: the demo hall's site and fleet file (defaults of every command)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SITE = REPO_ROOT / "maps" / "demo_hall"
DEFAULT_FLEET = REPO_ROOT / "robots" / "fleets" / "demo_hall.yaml"
