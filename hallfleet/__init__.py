"""HallFleet: robot fleet software for a government service hall."""

__version__ = "0.1.0"
