"""SQLite appends on the event loop: never waiting for the write lock there, never lost when it is held."""

from __future__ import annotations

import asyncio
import random
import sqlite3

from sqlalchemy.engine import make_url

from gateway.audit.sequencer import SqliteSequencer
from tests.audit.support import run, sample_event


def _path(url: str) -> str:
    database = make_url(url).database
    assert database
    return database


def test_append_waits_for_a_held_lock_off_the_loop_and_commits_after(sqlite_url: str) -> None:
    """While another connection holds the write lock, the loop keeps serving and the batch lands after."""
    rng = random.Random(3)

    async def scenario() -> None:
        seq = SqliteSequencer(_path(sqlite_url))
        first = await seq.append([sample_event(0, rng=rng)])  # lock free: committed at once
        holder = sqlite3.connect(_path(sqlite_url), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's writer, say
        pending = asyncio.ensure_future(seq.append([sample_event(i, rng=rng) for i in (1, 2)]))
        ticks = 0
        for _ in range(20):  # the loop is not blocked by the wait for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not pending.done()
        holder.execute("COMMIT")
        second = await asyncio.wait_for(pending, timeout=10)
        holder.close()
        await seq.close()
        assert second == [first[0] + 1, first[0] + 2]

    run(scenario())
    with sqlite3.connect(_path(sqlite_url)) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM audit_event ORDER BY seq")]
        head = conn.execute("SELECT seq FROM audit_head WHERE id = 1").fetchone()[0]
    assert seqs == list(range(seqs[0], seqs[0] + 3)) and head == seqs[-1]
