"""What the feed, lookup, consent and ingest rows share: their clients, their policy, and the data they read.

Each row's client is registered once per store with real tokens minted by the store's signing key (as
bench/access.py does for the by-id client); the policy is the shipped one with every bench client's
rate limits raised, so the limiter never answers for the path. The store from bench/store.py holds
residents only: the change log, consents and audit events these rows read are seeded here, once per
store, as a sync, a village counter and a running gateway would have left them. Tables are reflected
rather than imported so the seeding does not depend on where the table classes live.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, MetaData, Table, func, insert, select

from bench.access import CLIENT_ID, full_path_env, lifted_policy
from bench.scenarios import Fixture
from gateway.audit.checkpoints import load_or_create_key
from gateway.auth.clients import create_client, get_client
from gateway.auth.keys import ensure_signing_key, load_keyring
from gateway.auth.tokens import issue_access_token
from gateway.settings import Settings
from store.engines import make_sync_engine

PUBLIC_URL = "http://127.0.0.1:8000"
AGENT_PURPOSE = "pension-eligibility"  # a purpose the village agent's grant and its consents name
SEEDED_EVENTS = 14_000  # audit events seeded; seven clients, so 2,000 events each
EVENT_CLIENTS = 7  # tests.audit.support.sample_event names clients client-0 .. client-6
EVENT_TIME = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Caller:
    """A bench client: its id, department, region and scopes, and the purpose its requests state."""

    client_id: str
    department: str
    scopes: tuple[str, ...]
    purpose: str | None = None
    region: str = "511599000000"


FEED = Caller("bench-feed", "civil_affairs", ("changes:read", "residents:read"), "social-assistance-review")
AUDITOR = Caller("bench-auditor", "county_audit", ("audit:read",))
PUSHER = Caller("bench-push", "civil_affairs", ("ingest:civil_affairs", "residents:read"))


def agent(fx: Fixture) -> Caller:
    """Return the village agent of the first township of the store (consents are bound to its region)."""
    township = fx.village_codes[0][:9] + "000"
    return Caller("qingshan-agent", "village_service", ("residents:read",), AGENT_PURPOSE, township)


def env(fx: Fixture) -> dict[str, str]:
    """Return the full-path server environment with the policy that lifts every bench client's limits."""
    ours = [CLIENT_ID, FEED.client_id, AUDITOR.client_id, PUSHER.client_id, agent(fx).client_id]
    policies = lifted_policy(fx.work_dir / "access-rows" / "policies", ours, records_per_day=10**12)
    return {**full_path_env(fx), "GATEWAY_POLICY_DIR": str(policies)}


def headers(fx: Fixture, caller: Caller) -> dict[str, str]:
    """Register `caller` (once) and return a bearer token for it, and its purpose."""
    assert fx.database_url is not None
    settings = Settings(
        database_url=fx.database_url,
        key_encryption_key=full_path_env(fx)["GATEWAY_KEY_ENCRYPTION_KEY"],
        public_url=PUBLIC_URL,
        token_ttl_seconds=86400,
    )
    with _engine(fx) as engine:
        if get_client(engine, caller.client_id) is None:
            create_client(
                engine,
                name=caller.client_id,
                department=caller.department,
                subsystem="bench",
                scopes=list(caller.scopes),
                region_code=caller.region,
                client_id=caller.client_id,
            )
        ensure_signing_key(engine, settings)
        keyring = load_keyring(engine, settings)
    scopes = list(caller.scopes)
    token = issue_access_token(keyring, client_id=caller.client_id, scopes=scopes, settings=settings)
    out = {"Authorization": f"Bearer {token['access_token']}"}
    return out | ({"X-Purpose": caller.purpose} if caller.purpose else {})


class _engine:
    """A sync engine on the fixture's store, disposed on exit."""

    def __init__(self, fx: Fixture) -> None:
        assert fx.database_url is not None
        self.engine = make_sync_engine(fx.database_url)

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()


def _table(engine: Engine, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=engine)


def national_ids(fx: Fixture) -> list[str]:
    """Return the citizen ID numbers of the fixture's sampled residents, in sample order."""
    with _engine(fx) as engine:
        resident = _table(engine, "resident")
        found: dict[str, str] = {}
        ids = list(fx.resident_ids)
        with engine.connect() as conn:
            for i in range(0, len(ids), 500):
                rows = conn.execute(
                    select(resident.c.id, resident.c.national_id).where(resident.c.id.in_(ids[i : i + 500]))
                )
                found.update({r[0]: r[1] for r in rows if r[1]})
    return [found[r] for r in ids if r in found]


def seed_consents(fx: Fixture, *, limit: int = 1000) -> list[tuple[str, str]]:
    """Record consents to the village agent for up to `limit` residents of its township (once a store).

    Return (resident id, consent id) pairs.
    """
    who = agent(fx)
    with _engine(fx) as engine:
        consent, resident = _table(engine, "consent"), _table(engine, "resident")
        with engine.begin() as conn:
            mine = select(consent.c.resident_id, consent.c.id).where(
                consent.c.agent_client_id == who.client_id
            )
            pairs = [(r[0], r[1]) for r in conn.execute(mine)]
            if pairs:
                return pairs
            rids = conn.execute(
                select(resident.c.id)
                .where(resident.c.region_code.like(who.region[:9] + "%"))
                .order_by(resident.c.id)
                .limit(limit)
            ).scalars()
            today, now = dt.datetime.now(dt.UTC).date(), dt.datetime.now(dt.UTC)
            evidence = {"method": "paper_form", "scan_reference": "bench.pdf", "scan_sha256": "0" * 64}
            rows = [
                {
                    "id": "C" + secrets.token_hex(8).upper(),
                    "resident_id": rid,
                    "purpose": AGENT_PURPOSE,
                    "valid_from": today - dt.timedelta(days=2),
                    "valid_until": today + dt.timedelta(days=30),
                    "method": "paper_form",
                    "evidence": orjson.dumps(evidence).decode(),
                    "agent_client_id": who.client_id,
                    "agent_department": who.department,
                    "created_at": now,
                }
                for rid in rids
            ]
            conn.execute(insert(consent), rows)
    return [(r["resident_id"], r["id"]) for r in rows]


def seed_changes(fx: Fixture) -> int:
    """Write one `created` change per resident, as the sync that loaded them would have (once a store).

    Return the number of entries in the change log.
    """
    with _engine(fx) as engine:
        log, resident = _table(engine, "change_log"), _table(engine, "resident")
        with engine.begin() as conn:
            count = int(conn.execute(select(func.count()).select_from(log)).scalar_one())
            if count:
                return count
            now = dt.datetime.now(dt.UTC)
            docs = conn.execute(select(resident.c.id, resident.c.doc).order_by(resident.c.id))
            batch: list[dict[str, Any]] = []
            for rid, doc in docs:
                batch.append(_created(rid, orjson.loads(doc), now=now))
                if len(batch) >= 5000:
                    conn.execute(insert(log), batch)
                    count, batch = count + len(batch), []
            if batch:
                conn.execute(insert(log), batch)
                count += len(batch)
    return count


def _created(rid: str, doc: dict[str, Any], *, now: dt.datetime) -> dict[str, Any]:
    # The change a sync logs for a new resident (store/changes.py): every non-empty field.
    fields = [k for k, v in doc.items() if k not in ("updated_at", "provenance") and v not in (None, [], {})]
    return {
        "resource": "resident",
        "record_id": rid,
        "change": "created",
        "event": None,
        "fields": orjson.dumps(fields).decode(),
        "status": doc.get("status"),
        "regions": doc.get("region_code"),
        "tags": orjson.dumps(doc.get("tags") or []).decode(),
        "resident_id": rid,
        "changed_at": now,
    }


def seed_audit(fx: Fixture) -> tuple[int, int]:
    """Append SEEDED_EVENTS varied events through the sequencer with the server's key (once a store).

    Return the first and last seq of the seeded events.
    """
    with _engine(fx) as engine:
        events = _table(engine, "audit_event")
        with engine.connect() as conn:
            mine = events.c.client_id.in_([f"client-{i}" for i in range(EVENT_CLIENTS)])
            seeded = select(func.min(events.c.seq), func.max(events.c.seq)).where(mine)
            low, high = conn.execute(seeded).one()
    if low is None:
        asyncio.run(_append(fx))
        return seed_audit(fx)
    return int(low), int(high)


async def _append(fx: Fixture) -> None:
    from gateway.audit.sequencer import open_sequencer
    from tests.audit.support import sample_event  # the audit tests' realistic event generator

    assert fx.database_url is not None
    key = load_or_create_key(Path(full_path_env(fx)["GATEWAY_AUDIT_KEY_FILE"]))
    rng = random.Random(2026)
    seq = await open_sequencer(fx.database_url)
    try:
        await seq.publish_key(key)
        for start in range(0, SEEDED_EVENTS, 2000):
            await seq.append([sample_event(start + i, rng=rng, when=EVENT_TIME) for i in range(2000)])
        await seq.checkpoint(key, every=1, seconds=0)
    finally:
        await seq.close()


def spread(low: int, high: int, *, n: int, seed: int = 2026) -> Iterator[int]:
    """Yield n positions drawn at random from [low, high] (where pages start)."""
    rng = random.Random(seed)
    for _ in range(n):
        yield rng.randint(low, high)
