"""Wiring: the writer is built in the app's lifespan; routes and middleware are installed by create_app."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.audit.checkpoints import load_or_create_key
from gateway.audit.middleware import AuditMiddleware
from gateway.audit.sequencer import open_sequencer
from gateway.audit.witness import witnesses_of
from gateway.audit.writer import AuditWriter, WriterOptions
from gateway.metrics import Metrics
from gateway.settings import Settings
from store.engines import Timeouts


async def start_audit(settings: Settings, *, metrics: Metrics | None = None) -> AuditWriter:
    """Load the audit key, open the sequencer and start the writer (recording its batches in `metrics`)."""
    key = load_or_create_key(settings.audit_key_file)
    sequencer = await open_sequencer(settings.database_url, timeouts=Timeouts.audit(settings))
    witnesses = witnesses_of(settings)
    writer = AuditWriter(
        sequencer,
        key=key,
        witnesses=witnesses,
        metrics=metrics,
        options=WriterOptions(
            batch_max=settings.audit_batch_max,
            linger_ms=settings.audit_linger_ms,
            checkpoint_every=settings.audit_checkpoint_every,
            checkpoint_seconds=settings.audit_checkpoint_seconds,
        ),
    )
    await writer.start()
    return writer


async def stop_audit(writer: AuditWriter | None) -> None:
    """Commit what is queued, sign a last checkpoint and close."""
    if writer is not None:
        await writer.close()


def install_audit(app: FastAPI) -> None:
    """Add the audit middleware, the auditor API and console.

    Call before the other middleware is added, so the audit middleware sits inside tracing (it reads
    the span's trace id) and sees every status the app produces.
    """
    from gateway.audit import endpoints
    from gateway.audit.console import views

    app.include_router(endpoints.router)
    app.include_router(endpoints.disclosures_router)
    views.install(app)
    app.add_middleware(AuditMiddleware)
