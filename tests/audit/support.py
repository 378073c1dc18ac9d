"""Helpers of the audit tests: write events straight through a sequencer, build varied events."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path

from gateway.audit.checkpoints import AuditKey, load_or_create_key
from gateway.audit.events import AuditEvent
from gateway.audit.sequencer import open_sequencer

DEPARTMENTS = ["民政局", "人社局", "融媒体中心"]
PURPOSES = ["低保审核", "就业帮扶", "公告发布"]


def sample_event(i: int, *, rng: random.Random, when: dt.datetime | None = None) -> AuditEvent:
    """Return a varied, realistic event (deterministic for a seeded rng)."""
    status = rng.choice([200, 200, 200, 200, 404, 401, 403, 429])
    ids = [f"R{rng.randrange(10**10):010d}" for _ in range(rng.choice([0, 1, 1, 3]))]
    return AuditEvent(
        time=when or dt.datetime.now(dt.UTC),
        client_id=f"client-{i % 7}",
        department=rng.choice(DEPARTMENTS),
        purpose=rng.choice(PURPOSES),
        end_user=rng.choice([None, "staff-0042"]),
        case_id=rng.choice([None, f"CASE-{i}"]),
        method="GET",
        route="/v1/residents/{resident_id}",
        resource="resident",
        record_ids=ids if status == 200 else [],
        fields_disclosed=["name", "address"] if status == 200 else [],
        fields_masked=["national_id"] if status == 200 else [],
        decision="allow" if status < 400 else "deny",
        reason=None if status < 400 else f"http-{status}",
        policy_version="2026-11-01",
        status=status,
        trace_id=f"{rng.getrandbits(128):032x}",
        duration_us=rng.randrange(100, 5000),
        source="127.0.0.1",
    )


async def write_events(
    url: str,
    n: int,
    *,
    key: AuditKey,
    seed: int = 7,
    batch: int = 500,
    checkpoint_every: int = 0,
    when: dt.datetime | None = None,
) -> None:
    """Append n events in batches; sign a checkpoint every `checkpoint_every` events (0: at the end)."""
    rng = random.Random(seed)
    seq = await open_sequencer(url)
    try:
        await seq.publish_key(key)
        done = 0
        while done < n:
            size = min(batch, n - done)
            await seq.append([sample_event(done + i, rng=rng, when=when) for i in range(size)])
            done += size
            if checkpoint_every and done % checkpoint_every == 0:
                await seq.checkpoint(key, every=1, seconds=0)
        await seq.checkpoint(key, every=1, seconds=0)
    finally:
        await seq.close()


def make_key(tmp: Path) -> AuditKey:
    """Create an audit key in a temp dir."""
    return load_or_create_key(None) if False else _key_at(tmp / "audit-key.pem")


def _key_at(path: Path) -> AuditKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return load_or_create_key(path)


def run(coro: object) -> None:
    """Run a coroutine to completion (sync tests)."""
    asyncio.run(coro)  # type: ignore[arg-type]
