"""One source's sync: read, translate, quarantine, upsert and checkpoint in batches, under its lease.

The runner (connectors/sdk/runner.py) runs one SourceSync per source on the sync's connection, then the
refresh; push ingest (connectors/sdk/push.py) runs one for the records of a push.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy import Connection

from connectors.sdk.base import Connector
from connectors.sdk.errors import (
    RETRYABLE_REASONS,
    ConfigError,
    Reason,
    RecordInvalid,
    SourceError,
    SyncLocked,
)
from connectors.sdk.records import (
    Checkpoint,
    EnrollmentRecord,
    Listing,
    PersonRecord,
    RawItem,
    RawRecord,
)
from connectors.sdk.seen import SeenKeys
from connectors.sdk.sinks import BatchContext, Held
from connectors.sdk.sinks.entities import write_notices, write_regions, write_services
from connectors.sdk.sinks.people import write_enrollments, write_people
from connectors.sdk.sinks.quarantine import open_keys, release, village_choices, write_quarantine
from connectors.sdk.sinks.withdraw import (
    STORED,
    StoredEnrollment,
    close_withdrawn,
    restore_enrollments,
    withdraw,
)
from connectors.sdk.state import (
    HEARTBEAT,
    acquire_lease,
    load_state,
    new_holder,
    reconcile_due,
    release_lease,
    renew_lease,
    save_reconciled,
    save_state,
)
from connectors.sdk.summary import Progress, SyncSummary
from schemas.models import Notice, Region, Service
from store.bulk import write_tx

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
AnyConnector = Connector[Any]

_KINDS: dict[type, str] = {
    PersonRecord: "person",
    EnrollmentRecord: "enrollment",
    Service: "service",
    Notice: "notice",
    Region: "region",
    StoredEnrollment: "restore",
}
# Kinds a complete pass can reconcile (regions are reference data: never withdrawn by a sync).
RECONCILED = ("person", "enrollment", "service")
# Reference data first, people before what links to them.
_SINKS: tuple[tuple[str, Callable[[BatchContext, Any], None]], ...] = (
    ("region", write_regions),
    ("person", write_people),
    ("enrollment", write_enrollments),
    ("restore", restore_enrollments),
    ("service", write_services),
    ("notice", write_notices),
)


class Batch:
    """Translated records and held-back records waiting for the next commit."""

    def __init__(self) -> None:
        self.items: dict[str, list[tuple[dict[str, Any], Any]]] = {kind: [] for kind, _ in _SINKS}
        self.held: list[Held] = []
        self.size = 0
        self.checkpoint: Checkpoint | None = None  # the latest checkpoint these records are covered by

    def add(self, payload: dict[str, Any], record: Any) -> None:
        self.items[_KINDS[type(record)]].append((payload, record))
        self.size += 1

    def hold(self, held: Held) -> None:
        self.held.append(held)
        self.size += 1


class SourceSync:
    """One source's sync on the sync's connection."""

    def __init__(
        self, conn: Connection, connector: AnyConnector, *, now: dt.datetime, progress: Progress
    ) -> None:
        self.conn = conn
        self.connector = connector
        self.source = connector.name
        self.department = connector.department.value
        self.now = now
        self.progress = progress
        self.holder = new_holder()
        self.beat = time.monotonic() + HEARTBEAT.total_seconds()  # when the lease is next renewed
        self.summary = SyncSummary(source=self.source)
        self.quarantined: set[str] = set()
        self.villages: dict[str, str] = {}  # villages stewards chose for ambiguous records, by key
        self.seen = SeenKeys(conn)  # what this pass saw, to withdraw the rest (off for pushes)
        settings = connector.settings
        self.batch_size = max(1, int(getattr(settings, "batch_size", 10000)))
        self.commit_every = max(1, int(getattr(settings, "commit_every", 1)))

    def run(self, *, full: bool) -> SyncSummary:
        """Sync the source under its lease; errors end up in the summary, never half-committed."""
        started = time.perf_counter()
        with tracer.start_as_current_span(f"sync {self.source}") as span:
            try:
                with write_tx(self.conn) as store:
                    note = acquire_lease(store, self.source, holder=self.holder, now=self.now)
                    if note:
                        self.summary.notes.append(note)
                    state = {} if full else load_state(store, self.source)
                    full = full or not state or self._reconcile_due(store)
                    state = {} if full else state
                    self.quarantined = open_keys(store, self.source)
                    self.villages = village_choices(store, self.source)
                    self.seen.start(store, source=self.source, open_keys=self.quarantined)
                try:
                    self._extract(state, full=full)
                finally:
                    self._release()
            except (SourceError, SyncLocked, ConfigError) as exc:
                self.summary.error = str(exc)
            except Exception as exc:  # a bug or a store failure: report it, let the other sources run
                log.exception("sync of %s failed", self.source)
                self.summary.error = f"{type(exc).__name__}: {exc}"
            self.summary.duration = time.perf_counter() - started
            span.set_attribute("xz.source", self.source)
            span.set_attribute("xz.read", self.summary.read)
            span.set_attribute("xz.created", self.summary.created)
            span.set_attribute("xz.updated", self.summary.updated)
            span.set_attribute("xz.quarantined", self.summary.quarantined_total)
            if self.summary.error:
                span.set_status(trace.Status(trace.StatusCode.ERROR, self.summary.error))
        return self.summary

    def _release(self) -> None:
        if self.conn.in_transaction():
            self.conn.rollback()
        with write_tx(self.conn) as store:
            self.seen.drop(store)
            release_lease(store, self.source, holder=self.holder)

    def _extract(self, state: dict[str, Any], *, full: bool = False) -> None:
        with self.connector:
            self.progress.started(self.source, total=self.connector.estimate(state=state))
            batch = Batch()
            for item in self.connector.extract(state=state):
                if isinstance(item, Checkpoint):
                    # Commit at a checkpoint once enough is pending (or at the end of a pass): the state
                    # saved with the records always describes exactly what is committed.
                    if item.final or batch.size >= self.commit_every:
                        self._flush(batch, item)
                        batch = Batch()
                    else:
                        batch.checkpoint = item
                    continue
                self._heartbeat()
                if isinstance(item, Listing):
                    self.seen.listed.add(item.kind)
                    self.seen.note(item.kind, item.keys)
                    continue
                self.summary.read += 1
                self._take(batch, item)
                if batch.size >= self.batch_size:
                    self._flush(batch, batch.checkpoint)
                    batch = Batch()
            self._flush(batch, batch.checkpoint)
            self._reconcile(full=full)
            self._replay()

    def _reconcile_due(self, store: Any) -> bool:
        """Tell whether a source that cannot list its keys is due its scheduled full pass."""
        if self.connector.lists_keys:
            return False
        every = float(getattr(self.connector.settings, "reconcile_every_hours", 24.0))
        return reconcile_due(store, self.source, every=every, now=self.now)

    def _heartbeat(self) -> None:
        """Renew the lease while a long pass reads between commits (a live sync is never taken over)."""
        tick = time.monotonic()
        if tick < self.beat:  # one comparison per item: this runs for every record read (py-spy, 100k sync)
            return
        self.beat = tick + HEARTBEAT.total_seconds()
        if self.conn.in_transaction():
            return  # a batch is being written: its commit renews the lease
        with write_tx(self.conn) as store:
            renew_lease(store, self.source, holder=self.holder, now=dt.datetime.now(dt.UTC))

    def _reconcile(self, *, full: bool) -> None:
        """Withdraw what the source no longer holds: after a complete pass, or from its key listings."""
        every = {m.kind for m in self.connector.raw_models}
        kinds = every & set(RECONCILED)
        if not (full or (kinds and kinds <= self.seen.listed)):
            return  # an incremental pass of a source that cannot list its keys sees no deletion
        with write_tx(self.conn) as store:
            if self.seen.active:  # else the store held nothing of the source: nothing to withdraw
                self.seen.index(store)
                ctx = self._context(store)
                self.summary.withdrawn += withdraw(ctx, self.seen, kinds=kinds)
                if every <= kinds:  # quarantine keys span kinds: close only when every kind was listed
                    close_withdrawn(ctx, self.seen)
                ctx.flush_dirty()
            if full:
                save_reconciled(store, self.source, now=self.now)

    def _context(self, store: Any) -> BatchContext:
        """Return a batch context on `store` sharing the sync's open quarantine keys."""
        return BatchContext(
            store=store,
            source=self.source,
            department=self.department,
            now=self.now,
            held_keys=self.quarantined,
        )

    def _take(self, batch: Batch, item: RawItem) -> None:
        """Validate and translate one raw item into the batch, or hold it back."""
        model = item.model
        try:
            chosen = self.villages.get(model.key_of(item.payload)) if self.villages else None
            raw = model.model_validate(model.with_village(item.payload, chosen))
            if (why := raw.missing_identity()) is not None:
                # Never created: a row with only a record key would be a resident nobody can find.
                raise RecordInvalid(Reason.MISSING_IDENTITY, why)
            record = self.connector.translate(raw)
            batch.add(item.payload, record)
            self._saw(record)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            batch.hold(
                Held(
                    key=model.key_of(item.payload),
                    payload=item.payload,
                    reason=Reason.INVALID_RECORD,
                    message=problems,
                    kind=model.kind,
                )
            )
            self._saw_held(model, item.payload)
        except RecordInvalid as exc:
            batch.hold(
                Held(
                    key=model.key_of(item.payload),
                    payload=item.payload,
                    reason=exc.reason,
                    message=exc.message,
                    kind=model.kind,
                )
            )
            self._saw_held(model, item.payload)

    def _saw(self, record: Any) -> None:
        """Note the keys a translated record holds (a full pass withdraws stored keys not noted)."""
        if not self.seen.active:
            return
        if isinstance(record, PersonRecord):
            self.seen.note("person", (record.record_key,))
            self.seen.note("enrollment", [c.record_key for c in record.enrollments])
        elif isinstance(record, EnrollmentRecord):
            self.seen.note("enrollment", (record.record_key,))
        elif isinstance(record, Service):
            self.seen.note("service", (record.id.partition(":")[2],))

    def _saw_held(self, model: type[RawRecord], payload: dict[str, Any]) -> None:
        """Note a held-back payload's key under its model's kind."""
        if self.seen.active and model.kind in RECONCILED:
            self.seen.note(model.kind, (model.key_of(payload),))

    def _flush(self, batch: Batch, checkpoint: Checkpoint | None, *, replay: bool = False) -> None:
        """Commit a batch (and the checkpoint's state) in one transaction."""
        if not batch.size and checkpoint is None:
            return
        with tracer.start_as_current_span("sync.batch") as span, write_tx(self.conn) as store:
            self.seen.write(store)
            ctx = self._context(store)
            ctx.held.extend(batch.held)
            for kind, sink in _SINKS:
                if batch.items[kind]:
                    sink(ctx, batch.items[kind])
            reasons = write_quarantine(ctx, already=self.quarantined)
            released = release(ctx, already=self.quarantined)
            ctx.flush_dirty()
            self._committing(ctx, reasons=reasons, released=released, replay=replay)
            if checkpoint is not None:
                save_state(
                    store, self.source, state=checkpoint.state, watermark=checkpoint.watermark, now=self.now
                )
            renew_lease(store, self.source, holder=self.holder, now=dt.datetime.now(dt.UTC))
            span.set_attribute("xz.records", batch.size)
        s = self.summary
        s.created += ctx.created
        s.updated += ctx.updated
        s.released += released
        if not replay:
            s.unchanged += ctx.unchanged
            s.superseded += ctx.superseded
            s.quarantined.update(reasons)
            self.progress.advanced(self.source, read=s.read)

    def _committing(self, ctx: BatchContext, *, reasons: Counter[str], released: int, replay: bool) -> None:
        """Run in a batch's transaction just before it commits (push ingest records its answer there)."""

    def _replay(self) -> None:
        """Retry quarantined records whose reason depends on other records (their resident may be here)."""
        with write_tx(self.conn) as store:
            rows = store.rows_in(
                "SELECT record_key, raw FROM quarantine WHERE source = ? AND released_at IS NULL "
                "AND (reason IN ({in}) OR resolution = 'retry')",
                sorted(RETRYABLE_REASONS),
                before=(self.source,),
            )
            pending = list(rows)
        batch = Batch()
        for key, raw in pending:
            payload = orjson.loads(raw)
            if STORED in payload:  # kept from the store while its person was away
                batch.add(payload, StoredEnrollment(key, payload))
                continue
            model = self._model_for(payload)
            if model is not None:
                self._take(batch, RawItem(model, payload))
            if batch.size >= self.batch_size:
                self._flush(batch, None, replay=True)
                batch = Batch()
        self._flush(batch, None, replay=True)

    def _model_for(self, payload: dict[str, Any]) -> type[RawRecord] | None:
        # An enrolment names its person's key too: try enrolment models first.
        for model in sorted(self.connector.raw_models, key=lambda m: m.kind != "enrollment"):
            if model.key_alias in payload:
                return model
        return None
