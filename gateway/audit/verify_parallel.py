"""verify's batched walk on several cores: consecutive chunks of the log checked by worker processes.

Every check but the Merkle tree needs only the event itself and the stored hash before it, so each
chunk of seqs is checked on its own connection by a forked worker (check_spans, the batched walk's
own checks), which sends back the leaf and chain hashes. This process links the chunks (each
starts from the stored hash the one before it ends with), extends the Merkle frontier and checks
the checkpoints, in order. A doubt anywhere sends the caller to the exact walk, as in one process.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from gateway.audit.verify_batch import Doubt, Span, Spans, check_spans
from store.engines import make_sync_engine

MIN_EVENTS = 200_000  # below this, starting workers costs more than it saves
CHUNK = 100_000  # events a worker checks at a time (bounds the hashes held in memory)
HASH = 32


def workers_for(events: int, *, asked: int | None) -> int:
    """Return how many processes to check `events` events with (1: this one, no workers)."""
    if asked is not None:
        return max(1, asked)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(4, cores) if events >= MIN_EVENTS and "fork" in multiprocessing.get_all_start_methods() else 1


def _check_chunk(
    url: str, postgres: bool, lo: int, hi: int | None, prev: bytes | None
) -> tuple[bytes, bytes, bytes]:
    """Check events lo..hi in a worker; return the hash before lo, and the leaf and chain hashes packed.

    Given `prev`, the chunk is the first: it also reads below lo, where nothing may be.
    """
    engine = make_sync_engine(url)
    raw = engine.raw_connection()
    try:
        dbapi: Any = raw.dbapi_connection
        leaves, hashes = bytearray(), bytearray()
        before = prev if prev is not None else _stored_hash(dbapi, lo - 1)
        for span in check_spans(
            dbapi, postgres=postgres, first=lo, prev=before, high=hi, below=prev is not None
        ):
            leaves += b"".join(span.leaves)
            hashes += b"".join(span.hashes)
        return before, bytes(leaves), bytes(hashes)
    finally:
        raw.rollback()
        raw.close()
        engine.dispose()


def _stored_hash(dbapi: Any, seq: int) -> bytes:
    cur = dbapi.cursor()
    cur.execute(f"SELECT hash FROM audit_event WHERE seq = {int(seq)}")  # noqa: S608 (an int)
    row = cur.fetchone()
    cur.close()
    if row is None:
        raise Doubt
    return bytes(row[0])


def _split(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH] for i in range(0, len(blob), HASH)]


def parallel_spans(url: str, *, postgres: bool, first: int, prev: bytes, last: int, workers: int) -> Spans:
    """Yield the events first..(the end) as spans checked by `workers` forked processes, in seq order.

    `last` is where the store's events end now; the final chunk reads on to the end, whatever it is.
    """
    # Two chunks a worker at least, so one finishing early leaves none idle; at most CHUNK events each.
    size = min(CHUNK, max(1, -(-(last - first + 1) // (2 * workers))))
    starts = list(range(first, max(first, last) + 1, size)) or [first]
    # Fork: the workers start in milliseconds with everything imported; they open their own connections.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        jobs: list[Future[tuple[bytes, bytes, bytes]]] = []
        for n, lo in enumerate(starts):
            hi = starts[n + 1] - 1 if n + 1 < len(starts) else None
            jobs.append(pool.submit(_check_chunk, url, postgres, lo, hi, prev if n == 0 else None))
        try:
            for lo, job in zip(starts, jobs, strict=True):
                try:
                    before, leaves, hashes = job.result()
                except Exception as exc:  # a worker's doubt, or one that could not run: walk here
                    raise Doubt from exc
                if before != prev or not leaves:
                    raise Doubt  # the chunks do not link up (or one is empty)
                chain = _split(hashes)
                yield Span(lo, _split(leaves), chain)
                prev = chain[-1]
        finally:
            for job in jobs:
                job.cancel()
