"""Push ingest: claim the Idempotency-Key, run the connector's batch through the runner, keep the answer.

The runner is synchronous (driver-level SQL on a sync engine), so a push runs in a worker thread and the
event loop keeps serving. The key is claimed in its own short transaction (so a concurrent push with the
same key sees it at once and gets 409); the answer is stored in the transaction that commits the records,
so a replay either finds both or neither.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine

from connectors.api import ConfigError, Connector, PushBatch, PushResult, available, load_config, run_push
from gateway.auth.scopes import Scope, ingest_scope
from gateway.ingest import repository
from gateway.ingest.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, SourceNotConfigured
from gateway.ingest.models import IngestResult
from gateway.ingest.repository import Claimed, KeyRef
from gateway.metrics import Metrics
from gateway.settings import Settings
from store.bulk import Store
from store.engines import make_sync_engine

log = logging.getLogger(__name__)

# A claimed key whose push has not answered by then belongs to a dead process: a retry may take it over.
LEASE = dt.timedelta(minutes=5)
# Answers are kept this long for replays (the draft's key expiry); a later reuse of the key is a new push.
KEEP = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Pushable:
    """A source that takes pushes: its connector class and the scope a pusher needs."""

    name: str
    connector: type[Connector[Any]]
    scope: Scope
    model: type[PushBatch]


def pushable_sources() -> list[Pushable]:
    """Return the installed sources that declare a push batch and have an ingest scope, in sync order."""
    found = []
    for name, cls in available().items():
        scope = ingest_scope(name)
        if cls.push_model is not None and scope is not None:
            found.append(Pushable(name, cls, scope, cls.push_model))
    return found


@dataclass
class IngestRuntime:
    """The sync engine pushes write through and the connectors that translate them (built on first use)."""

    engine: Engine
    sources_config: Path
    metrics: Metrics | None = None
    _connectors: dict[str, Connector[Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connector(self, source: type[Connector[Any]]) -> Connector[Any]:
        """Return the source's push connector, its reference data loaded (once per process)."""
        with self._lock:
            found = self._connectors.get(source.name)
            if found is None:
                try:
                    found = source.for_push(self._settings(source))
                    found.prepare()
                except ConfigError as exc:
                    raise SourceNotConfigured(str(exc)) from None
                self._connectors[source.name] = found
            return found

    def _settings(self, source: type[Connector[Any]]) -> Any:
        """Return the source's configured settings, or None when this server has none usable for it."""
        if not self.sources_config.is_file():
            return None
        try:
            config = load_config(self.sources_config)
            if source.name not in config.names:
                return None
            return config.settings(source.name, source.settings_model)
        except (ConfigError, ValueError) as exc:
            # Settings a push does not use may be unset here (the HR API key lives with the sync job):
            # the connector decides in for_push whether it can translate without them.
            log.info("push %s: source settings not usable here (%s)", source.name, exc)
            return None


def start_ingest(settings: Settings, *, metrics: Metrics | None = None) -> IngestRuntime:
    """Build the push runtime of this process (the engine connects on the first push)."""
    return IngestRuntime(
        engine=make_sync_engine(settings.database_url, pool_size=2),
        sources_config=settings.sources_config,
        metrics=metrics,
    )


def stop_ingest(runtime: IngestRuntime) -> None:
    """Close the push engine's connections."""
    runtime.engine.dispose()


@dataclass(frozen=True, slots=True)
class Answer:
    """What a push answers: the JSON body, and whether it is the replay of an earlier answer."""

    body: bytes
    replayed: bool
    summary: str


def fingerprint(batch: PushBatch) -> str:
    """Return a digest of the batch's content (member order and whitespace do not matter)."""
    # The standard library, not orjson: a pushed integer may exceed 64 bits.
    canonical = json.dumps(
        batch.model_dump(by_alias=True), sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def ingest(runtime: IngestRuntime, *, source: Pushable, ref: KeyRef, batch: PushBatch) -> Answer:
    """Run a push in a worker thread (the runner is synchronous); replays answer what was answered."""
    return await anyio.to_thread.run_sync(partial(_ingest, runtime, source=source, ref=ref, batch=batch))


def _ingest(runtime: IngestRuntime, *, source: Pushable, ref: KeyRef, batch: PushBatch) -> Answer:
    connector = runtime.connector(source.connector)
    now = dt.datetime.now(dt.UTC)
    with runtime.engine.begin() as conn:
        store = Store(conn)
        repository.purge(store, before=now - KEEP)
        claim = repository.claim(store, ref=ref, fingerprint=fingerprint(batch), now=now, lease=LEASE)
    if claim.outcome is Claimed.MISMATCH:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {ref.key!r} was used with a different {ref.source} batch; use a new key"
        )
    if claim.outcome is Claimed.IN_FLIGHT:
        raise IdempotencyKeyInFlight(
            f"a push with Idempotency-Key {ref.key!r} is still being processed; retry when it has answered",
            headers={"Retry-After": "1"},
        )
    if claim.outcome is Claimed.REPLAY:
        body = (claim.response or "").encode()
        return Answer(body, replayed=True, summary=f"replay of {ref.key}: nothing changed")
    answer: dict[str, bytes] = {}

    def keep_answer(store: Store, result: PushResult) -> None:
        # In the records' own transaction: the answer a replay gets commits with what it describes.
        body = IngestResult.of(result, key=ref.key).model_dump_json().encode()
        repository.complete(store, ref=ref, status=200, response=body.decode())
        answer["body"] = body

    try:
        result = run_push(runtime.engine, connector=connector, batch=batch, commit_with=keep_answer)
    except BaseException:
        if "body" not in answer:  # nothing committed: free the key so the client can retry with it
            with runtime.engine.begin() as conn:
                repository.release(Store(conn), ref=ref)
        raise
    _record(runtime.metrics, result)
    return Answer(answer["body"], replayed=False, summary=_summary(result))


def _record(metrics: Metrics | None, result: PushResult) -> None:
    """Count a push's records by outcome, and its quarantined ones by reason."""
    if metrics is None:
        return
    outcomes = {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "superseded": result.superseded,
        "quarantined": len(result.quarantined),
    }
    for outcome, n in outcomes.items():
        if n:
            metrics.sync_records.add(n, {"source": result.source, "outcome": outcome})
    for reason, n in result.reasons.items():
        metrics.quarantined.add(n, {"source": result.source, "reason": reason})


def _summary(result: PushResult) -> str:
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(result.reasons.items()))
    return (
        f"received {result.received}, created {result.created}, updated {result.updated}, "
        f"unchanged {result.unchanged}, quarantined {len(result.quarantined)}"
        + (f" ({reasons})" if reasons else "")
    )
