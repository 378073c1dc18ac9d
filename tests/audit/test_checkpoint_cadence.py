"""Checkpoints follow the shared log: with several writers (processes) appending to one log, a signed
checkpoint covers at least every `checkpoint_every` events of the whole log, not of each writer."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gateway.audit.checkpoints import AuditKey
from gateway.audit.sequencer import open_sequencer
from gateway.audit.verify import verify_store
from gateway.audit.writer import AuditWriter, WriterOptions
from tests.audit.support import make_key, sample_event

EVERY = 10
EVENTS = 60
SIZES = text("SELECT tree_size FROM audit_checkpoint ORDER BY tree_size")


async def _interleave(url: str, *, key: AuditKey, writers: int) -> None:
    """Append EVENTS events one at a time, taking turns between `writers` writers on one store."""
    rng = random.Random(5)
    options = WriterOptions(checkpoint_every=EVERY, checkpoint_seconds=3600)
    opened = [AuditWriter(await open_sequencer(url), key=key, options=options) for _ in range(writers)]
    for w in opened:
        await w.start()
    for i in range(EVENTS):
        await opened[i % writers].append(sample_event(i, rng=rng))
    for w in opened:
        await w.close()


@pytest.mark.backends
@pytest.mark.parametrize("writers", [1, 3])
def test_a_checkpoint_at_least_every_n_events_of_the_shared_log(
    store_url: str, store_engine: Engine, tmp_path: Path, writers: int
) -> None:
    """Three writers taking turns: a checkpoint every EVERY events of the log, as with one writer."""
    asyncio.run(_interleave(store_url, key=make_key(tmp_path), writers=writers))
    with store_engine.connect() as conn:
        sizes = list(conn.execute(SIZES).scalars())
    gaps = [b - a for a, b in zip([0, *sizes], sizes, strict=False)]
    # A checkpoint is signed at the head it reads, so events another writer commits while it is being
    # signed may join it: a little slack, never a multiple of EVERY.
    assert sizes[-1] == EVENTS and max(gaps) <= EVERY + writers - 1, sizes
    assert len(sizes) >= EVENTS // EVERY, sizes
    assert verify_store(store_engine).ok
