"""Recording CLI commands in the audit log (gateway/audit/direct.py) with one clear failure."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from gateway.audit.direct import record_command
from gateway.settings import get_settings


def record(
    command: str,
    *,
    targets: Sequence[str] = (),
    outcome: str = "allow",
    reason: str | None = None,
    sign: bool = True,
) -> None:
    """Append the command's audit event; exit 3 when the log cannot take it (nothing is shown then)."""
    try:
        record_command(
            get_settings(), command=command, targets=targets, outcome=outcome, reason=reason, sign=sign
        )
    except Exception as exc:  # any store failure: the command must not go on unrecorded
        typer.echo(f"error: the audit log could not record `gateway {command}`: {exc}", err=True)
        raise typer.Exit(3) from exc
