"""Audit events written outside a request: what operators do from the command line.

Every `gateway` command that reads personal data or changes state appends one event through the
same sequencer as the server (so it lands in the one chain, also when no server runs), naming the
operator (OS user and, where set, GATEWAY_OPERATOR), the command and its targets. When the audit key
is at hand the command also signs a checkpoint over it, so its event is covered at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.audit.batch import ChainBroken
from gateway.audit.checkpoints import DEFAULT_KEY_FILE, load_or_create_key
from gateway.audit.events import KIND_ADMIN, AuditEvent
from gateway.audit.sequencer import open_sequencer
from gateway.audit.witness import witnesses_of
from gateway.settings import Settings

log = logging.getLogger(__name__)


async def append_event(database_url: str, event: AuditEvent) -> int:
    """Commit one event to the store's log (serialised with running gateways); return its seq."""
    sequencer = await open_sequencer(database_url)
    try:
        return (await sequencer.append([event]))[0]
    finally:
        await sequencer.close()


def os_user() -> str:
    """Return the operating-system user running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"


def command_event(
    settings: Settings,
    *,
    command: str,
    targets: Sequence[str] = (),
    outcome: str = "allow",
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    """Return the event of a CLI command: operator, command, targets, outcome (and e.g. a manifest)."""
    user = os_user()
    details: dict[str, Any] = {**(extra or {}), "os_user": user, "command": command, "targets": list(targets)}
    if settings.operator:
        details["operator"] = settings.operator
    return AuditEvent(
        time=dt.datetime.now(dt.UTC),
        kind=KIND_ADMIN,
        client_id=f"cli:{user}",  # GB/T 22239-2019 8.1.4.3 b: who did it
        end_user=settings.operator,
        method="CLI",
        route=command,
        resource=command.replace(".", " ").split(" ", 1)[0],
        record_ids=list(targets),
        decision=outcome,
        reason=reason,
        status={"allow": 200, "deny": 403}.get(outcome, 500),
        details=details,
    )


async def _append_and_sign(settings: Settings, event: AuditEvent, *, sign: bool) -> int:
    sequencer = await open_sequencer(settings.database_url)
    try:
        seq = (await sequencer.append([event]))[0]
        key_path: Path = settings.audit_key_file or DEFAULT_KEY_FILE
        if sign and key_path.exists():  # noqa: ASYNC240 (one stat in a one-shot CLI run)
            key = load_or_create_key(key_path)
            await sequencer.publish_key(key)
            try:
                cp = await sequencer.checkpoint(key, every=1, seconds=0)
            except ChainBroken:
                # The event is committed; a broken chain is never signed (verify names the break).
                log.warning("audit chain broken: no checkpoint signed after `%s`", event.route)
                return seq
            if cp is not None:
                for witness in witnesses_of(settings):
                    witness.witness(cp)
        return seq
    finally:
        await sequencer.close()


def record_command(
    settings: Settings,
    *,
    command: str,
    targets: Sequence[str] = (),
    outcome: str = "allow",
    reason: str | None = None,
    sign: bool = True,
    extra: dict[str, Any] | None = None,
) -> int:
    """Audit a CLI command (e.g. `clients create`, targets the client ids); return its seq.

    Raises when the event cannot be committed: a command must not act, or show personal data,
    unrecorded (8.1.4.3 c). `sign=False` (verify) appends without signing what it is checking.
    """
    event = command_event(
        settings, command=command, targets=targets, outcome=outcome, reason=reason, extra=extra
    )
    return asyncio.run(_append_and_sign(settings, event, sign=sign))


def record_admin_action(
    database_url: str, *, action: str, target: str | None, outcome: str = "allow", reason: str | None = None
) -> int:
    """Audit a CLI administration action (e.g. `clients.disable`, target the client id); return its seq."""
    settings = Settings(database_url=database_url)
    return record_command(
        settings, command=action, targets=[target] if target else [], outcome=outcome, reason=reason
    )
