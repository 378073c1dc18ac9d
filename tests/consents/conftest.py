"""Fixtures of the assisted-access tests: the world of tests/support/assisted.py."""

from __future__ import annotations

from tests.support.assisted import AGENT, CLIENTS, PAPER, PURPOSE, SCAN_SHA256, World, world

__all__ = ["AGENT", "CLIENTS", "PAPER", "PURPOSE", "SCAN_SHA256", "World", "world"]
