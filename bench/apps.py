"""App factories for benchmark rows that switch a legal control off: code only, never a setting.

`uvicorn bench.apps:no_audit --factory` and friends; nothing under gateway/ or deploy/ refers to them.
"""

from __future__ import annotations

from fastapi import FastAPI

from gateway.app import LegalControls, create_app


def no_policy() -> FastAPI:
    """Return the gateway with the access policy off (policy-off row)."""
    return create_app(controls=LegalControls(policy=False))


def no_audit() -> FastAPI:
    """Return the gateway with the audit log off (audit-off row)."""
    return create_app(controls=LegalControls(audit=False))


def lean() -> FastAPI:
    """Return the gateway with policy and audit off (token and read only)."""
    return create_app(controls=LegalControls(audit=False, policy=False))
