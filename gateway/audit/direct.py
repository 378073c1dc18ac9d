"""Audit events written outside a request: administration done from the command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass

from gateway.audit.events import KIND_ADMIN, AuditEvent
from gateway.audit.sequencer import open_sequencer


async def append_event(database_url: str, event: AuditEvent) -> int:
    """Commit one event to the store's log (serialised with running gateways); return its seq."""
    sequencer = await open_sequencer(database_url)
    try:
        return (await sequencer.append([event]))[0]
    finally:
        await sequencer.close()


def record_admin_action(
    database_url: str, *, action: str, target: str | None, outcome: str = "allow", reason: str | None = None
) -> int:
    """Audit a CLI administration action (e.g. `clients.disable`, target the client id); return its seq."""
    event = AuditEvent(
        time=dt.datetime.now(dt.UTC),
        kind=KIND_ADMIN,
        client_id=f"cli:{getpass.getuser()}",  # GB/T 22239-2019 8.1.4.3 b: who did it
        method="CLI",
        route=action,
        resource=action.split(".", 1)[0],
        record_ids=[target] if target else [],
        decision=outcome,
        reason=reason,
        status=200 if outcome == "allow" else 403,
    )
    return asyncio.run(append_event(database_url, event))
