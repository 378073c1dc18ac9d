"""Group commit: requests enqueue events; one task commits them in batches; each awaits its batch.

While a batch is being committed, newly arriving events queue up and form the next batch, so under
load one commit (and one fsync) covers many requests, and an idle gateway adds no waiting at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass

from gateway.audit.checkpoints import AuditKey, Checkpoint
from gateway.audit.events import AuditEvent
from gateway.audit.sequencer import Sequencer
from gateway.audit.witness import Witness
from gateway.errors import RetryLater, occurrence
from gateway.metrics import Metrics

log = logging.getLogger(__name__)


class AuditUnavailable(
    RetryLater,
    slug="audit-unavailable",
    title="Audit log unavailable",
    title_zh="审计日志不可用",
    detail_zh="审计日志无法记录本次访问，因此请求被拒绝；请按 Retry-After 稍后重试。",
    example=occurrence("the audit log cannot commit; retry later"),
):
    """The audit log could not commit the event, so the request is refused (GB/T 22239-2019 8.1.4.3)."""


DEFERRED_MAX = 100_000  # refusal events kept in memory during an outage (about 100 MB at most)


@dataclass(frozen=True, slots=True, kw_only=True)
class WriterOptions:
    """Tuning of the writer and its checkpoints."""

    batch_max: int = 512
    linger_ms: float = 0.0
    checkpoint_every: int = 1000
    checkpoint_seconds: float = 60.0


class AuditWriter:
    """The process's single audit writer; `append` returns once the event is committed."""

    def __init__(
        self,
        sequencer: Sequencer,
        *,
        key: AuditKey,
        options: WriterOptions | None = None,
        witnesses: tuple[Witness, ...] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self._seq = sequencer
        self._metrics = metrics
        self._witnesses = witnesses
        self._key = key
        self._opts = options or WriterOptions()
        self._pending: list[tuple[AuditEvent, asyncio.Future[int]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # Positions in the shared log, which other processes append to as well: the last event this
        # writer committed, and the largest checkpoint it knows of (its own, or another process's).
        self._head = 0
        self._signed = 0
        self._last_checkpoint = time.monotonic()
        self.batches = 0
        self.committed = 0
        self.failing_since: float | None = None  # monotonic time of the first failed batch since a success
        # Events of answers refused because the log could not commit (503): written once it can again.
        self._deferred: list[AuditEvent] = []
        self._probe: asyncio.Future[None] | None = None
        self.dropped = 0

    @property
    def key(self) -> AuditKey:
        """Return the signing key."""
        return self._key

    async def start(self) -> None:
        """Publish the key and start the writer task."""
        await self._seq.publish_key(self._key)
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def append(self, event: AuditEvent) -> int:
        """Queue `event` and return its sequence number once committed, or raise AuditUnavailable."""
        if self._closing or self._task is None:
            raise AuditUnavailable("the audit writer is not running")
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((event, fut))
        self._wake.set()
        return await fut

    def defer(self, event: AuditEvent) -> None:
        """Keep the event of a refused answer until the log can commit again (bounded; drops are counted)."""
        if len(self._deferred) >= DEFERRED_MAX:
            self.dropped += 1
            log.error("audit: %d refusal events could not be kept while the log was down", self.dropped)
            return
        self._deferred.append(event)

    async def _flush_deferred(self) -> None:
        batch = self._deferred[: self._opts.batch_max]
        try:
            seqs = await self._seq.append(batch)
        except Exception as exc:
            log.warning("audit: deferred refusal events still cannot be committed: %s", exc)
            self.failing_since = self.failing_since or time.monotonic()
            return
        del self._deferred[: len(batch)]
        self.committed += len(batch)
        self._head = max(self._head, *seqs)

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._deferred and self.failing_since is None:
                    await self._flush_deferred()
                    continue
                if self._closing:
                    return
                self._wake.clear()
                try:
                    # Wake for events, or on time to sign a checkpoint over a quiet log.
                    await asyncio.wait_for(self._wake.wait(), timeout=self._opts.checkpoint_seconds)
                except TimeoutError:
                    await self._maybe_checkpoint()
                continue
            if self._opts.linger_ms:
                await asyncio.sleep(self._opts.linger_ms / 1000)
            batch = self._pending[: self._opts.batch_max]
            del self._pending[: len(batch)]
            await self._flush(batch)
            await self._maybe_checkpoint()

    async def _flush(self, batch: list[tuple[AuditEvent, asyncio.Future[int]]]) -> None:
        try:
            seqs = await self._seq.append([ev for ev, _ in batch])
        except Exception as exc:
            # The events are not in the log, so none of these responses may be sent (8.1.4.3 c).
            log.error("audit batch of %d events failed: %s", len(batch), exc, exc_info=exc)
            if self.failing_since is None:
                self.failing_since = time.monotonic()
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(
                        AuditUnavailable(f"the audit log could not commit: {type(exc).__name__}")
                    )
            return
        self.failing_since = None
        for (_, fut), seq in zip(batch, seqs, strict=True):
            if not fut.done():
                fut.set_result(seq)
        self.batches += 1
        self.committed += len(batch)
        if self._metrics is not None:
            self._metrics.audit_batch_size.record(len(batch))
            # An event's time is taken as its response is decided, just before it is queued.
            waited = dt.datetime.now(dt.UTC) - min(ev.time for ev, _ in batch)
            self._metrics.audit_batch_latency.record(max(waited.total_seconds(), 0.0))
        self._head = max(self._head, *seqs)

    async def _maybe_checkpoint(self, *, force: bool = False) -> None:
        # Counted in the shared sequence, not in this writer's own events: with k processes writing,
        # counting its own would sign once every k * checkpoint_every events of the log.
        unsigned = self._head - self._signed
        elapsed = time.monotonic() - self._last_checkpoint
        if (
            not force
            and unsigned < self._opts.checkpoint_every
            and (elapsed < self._opts.checkpoint_seconds or unsigned <= 0)
        ):
            return
        try:
            cp = await self._seq.checkpoint(
                self._key,
                every=1 if force else self._opts.checkpoint_every,
                seconds=0 if force else self._opts.checkpoint_seconds,
            )
        except Exception:
            # A missed checkpoint delays tamper evidence but loses nothing: the next one covers it.
            log.exception("audit checkpoint failed")
            return
        self._last_checkpoint = time.monotonic()
        # Not due: another process signed meanwhile; the sequencer read its size (no asking every batch).
        self._signed = max(self._signed, cp.tree_size if cp is not None else self._seq.signed_size)
        if cp is not None:
            await self._witness(cp)

    async def _witness(self, cp: Checkpoint) -> None:
        for witness in self._witnesses:
            try:
                # File and network I/O off the event loop; once per checkpoint, not per request.
                await asyncio.to_thread(witness.witness, cp)
            except Exception:
                # The store still holds the checkpoint; the next one is witnessed again and covers it.
                log.exception(
                    "audit witness %s failed for checkpoint %d", type(witness).__name__, cp.tree_size
                )

    async def probe(self, *, within: float) -> str | None:
        """Return why the log cannot commit now (None: it can), probing for `within` seconds."""
        if self._closing or self._task is None or self._task.done():
            return "the audit writer is not running"
        if self._probe is None or self._probe.done():
            # One probe at a time: probes of a stalled log must not pile up in front of the appends.
            self._probe = asyncio.ensure_future(self._seq.ping())
        try:
            await asyncio.wait_for(asyncio.shield(self._probe), timeout=within)
        except TimeoutError:
            return "the audit log did not answer in time (a stalled lock or commit)"
        except Exception as exc:
            return f"the audit log cannot reach the store: {type(exc).__name__}"
        # The sequencer's connection works again: the next batch will commit (recovery needs no request).
        self.failing_since = None
        self._wake.set()  # write the deferred refusal events now
        return None

    async def close(self) -> None:
        """Commit what is queued, sign a final checkpoint, and stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.committed:
            await self._maybe_checkpoint(force=True)
        await self._seq.close()
