"""verify's batched walk: an untouched log passes it with the exact walk's report; any tampering, or a
value stored clipped, makes it doubt, and the exact walk names the finding (test_tamper.py checks which)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.audit.sequencer import open_sequencer
from gateway.audit.verify import verify_store
from tests.audit.support import make_key, run, sample_event, write_events
from tests.audit.test_tamper import CASES

N = 300


@pytest.fixture
def log(store_url: str, store_engine: Engine, tmp_path: Path) -> Engine:
    """Return an engine on a store holding N chained events, checkpointed every 100 and batched by 25."""
    run(write_events(store_url, N, key=make_key(tmp_path), batch=25, checkpoint_every=100))
    return store_engine


def _summary(engine: Engine, *, batched: bool, workers: int = 1) -> tuple[object, ...]:
    r = verify_store(engine, batched=batched, workers=workers)
    return (r.ok, r.finding, r.events, r.checkpoints, r.first_seq, r.last_seq, r.notes, r.walk)


@pytest.mark.backends
@pytest.mark.parametrize("workers", [1, 2])
def test_untouched_log_passes_the_batched_walk(log: Engine, workers: int) -> None:
    # Two workers check the 300 events in four chunks of 75, linked and treed here.
    fast, exact = _summary(log, batched=True, workers=workers), _summary(log, batched=False)
    assert fast[-1] == "batched" and exact[-1] == "exact"
    assert fast[:-1] == exact[:-1] and fast[0] is True and fast[2] == N


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_tampering_makes_the_batched_walk_doubt(log: Engine, case: str, workers: int) -> None:
    with log.begin() as conn:
        CASES[case][0](conn)
    fast, exact = _summary(log, batched=True, workers=workers), _summary(log, batched=False)
    assert fast[0] is False and fast[:-1] == exact[:-1], case
    # A deleted tail leaves every stored event sound: the walk passes them, the signed checkpoint tells.
    assert fast[-1] == ("batched" if case == "delete-tail" else "exact"), case


def test_a_clipped_column_is_left_to_the_exact_walk(
    store_url: str, store_engine: Engine, tmp_path: Path
) -> None:
    # A purpose longer than its column is stored clipped: the lists differ, the exact walk accepts it.
    key = make_key(tmp_path)

    async def write() -> None:
        seq = await open_sequencer(store_url)
        try:
            await seq.publish_key(key)
            ev = sample_event(0, rng=random.Random(1))
            ev.purpose = "x" * 300
            await seq.append([ev])
            await seq.checkpoint(key, every=1, seconds=0)
        finally:
            await seq.close()

    run(write())
    report = verify_store(store_engine)
    assert report.ok, report.finding
    assert report.walk == "exact" and report.events == 1
