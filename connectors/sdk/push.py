"""Push ingest: a pushed batch takes the sync's own steps (validate, translate, quarantine, link, upsert).

Entry point: ``run_push(engine, *, connector, batch, commit_with) -> PushResult``. The batch's records are
committed in one transaction holding the sync write lock, so a push and a running sync of the same source
serialise batch by batch; a push moves no watermark and takes no sync lease. `commit_with` runs inside that
transaction with the result, so a caller's own record of the push (an idempotency key) commits or fails with
the records. Quarantined records whose reason depends on others are replayed, then the touched residents
are refreshed, as at the end of a sync.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from sqlalchemy import Connection, Engine

from connectors.sdk.alerts import after_write
from connectors.sdk.base import Connector
from connectors.sdk.batch import PushBatch
from connectors.sdk.linking.refresh import refresh

# The sync's own steps, not a copy of them: a push is a sync of one batch without extract and checkpoints.
from connectors.sdk.runner import sync_clock
from connectors.sdk.sinks import BatchContext
from connectors.sdk.sinks.quarantine import open_keys, village_choices
from connectors.sdk.source_sync import Batch, SourceSync
from connectors.sdk.summary import WriteCounts, _Quiet
from store.bulk import Store, write_tx

tracer = trace.get_tracer(__name__)


@dataclass(frozen=True, slots=True)
class HeldRecord:
    """A pushed record held back: its source key, the quarantine reason code and the message."""

    key: str
    reason: str
    message: str


@dataclass
class PushResult(WriteCounts):
    """What one push did with each record it received; the counts add up to `received`."""

    received: int = 0
    quarantined: list[HeldRecord] = field(default_factory=list)

    @property
    def reasons(self) -> Counter[str]:
        """Return the held-back records counted by reason."""
        return Counter(h.reason for h in self.quarantined)


CommitHook = Callable[[Store, PushResult], None]


class _PushSync(SourceSync):
    """One pushed batch on its own connection: the sync's steps, no checkpoint, no lease."""

    def __init__(
        self, conn: Connection, *, connector: Connector[Any], now: dt.datetime, hook: CommitHook | None
    ) -> None:
        super().__init__(conn, connector, now=now, progress=_Quiet())
        self.hook = hook
        self.result = PushResult(source=self.source)

    def push(self, batch: PushBatch) -> PushResult:
        """Translate, store and quarantine the batch in one transaction, then replay dependent records."""
        with write_tx(self.conn) as store:
            self.quarantined = open_keys(store, self.source)
            self.villages = village_choices(store, self.source)  # stewards' choices hold for pushes too
        pending = Batch()
        for item in batch.raw_items():
            self.result.received += 1
            self._take(pending, item)
        # One transaction for the whole batch: MAX_RECORDS stays below any batch_size a sync would use.
        self._flush(pending, None)
        # Records that were waiting on these (an enrolment on its resident) are stored now, as in a sync;
        # the answer, committed with the batch, counts the pushed records only.
        self._replay()
        return self.result

    def _committing(self, ctx: BatchContext, *, reasons: Counter[str], released: int, replay: bool) -> None:
        if replay:
            return
        r = self.result
        r.created, r.updated, r.unchanged, r.released = ctx.created, ctx.updated, ctx.unchanged, released
        latest = {h.key: h for h in ctx.held}  # the same key held twice: the later copy is the one kept
        r.quarantined = [HeldRecord(h.key, h.reason, h.message) for h in latest.values()]
        r.superseded = max(0, r.received - r.created - r.updated - r.unchanged - len(r.quarantined))
        if self.hook is not None:
            self.hook(ctx.store, r)


def run_push(
    engine: Engine,
    *,
    connector: Connector[Any],
    batch: PushBatch,
    commit_with: CommitHook | None = None,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
) -> PushResult:
    """Ingest a pushed batch through the runner's steps, then refresh the residents it touched."""
    clock_now, clock_today = sync_clock()
    now, today = now or clock_now, today or clock_today
    with tracer.start_as_current_span(f"push {connector.name}") as span, engine.connect() as conn:
        result = _PushSync(conn, connector=connector, now=now, hook=commit_with).push(batch)
        refresh(conn, now=now, today=today)
        after_write(conn, now=now, today=today)
        span.set_attribute("xz.source", connector.name)
        span.set_attribute("xz.received", result.received)
        span.set_attribute("xz.quarantined", len(result.quarantined))
    return result
