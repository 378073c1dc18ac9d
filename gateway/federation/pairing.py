"""Pair the two sides of federated exchanges across two gateways' audit logs by their shared trace id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, or_, select

from store.tables import table_of
from store.tables.audit import AuditEventRow

E = table_of(AuditEventRow).c
SHOWN = (
    "seq",
    "trace_id",
    "time",
    "client_id",
    "department",
    "on_behalf_of",
    "purpose",
    "route",
    "decision",
    "status",
)


@dataclass(slots=True)
class Pairing:
    """Exchanges found on both sides, and the asking side's events the other log does not hold."""

    pairs: list[dict[str, Any]] = field(default_factory=list)
    unpaired: list[dict[str, Any]] = field(default_factory=list)


def asking_events(engine: Engine) -> list[dict[str, Any]]:
    """Return the events of calls this gateway forwarded to a member (its federation routes)."""
    stmt = select(E.body).where(E.route.like("/v1/federation/%")).order_by(E.seq)
    with engine.connect() as conn:
        return [orjson.loads(row[0]) for row in conn.execute(stmt)]


def answering_events(engine: Engine, trace_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Return a member's events carrying any of `trace_ids`, by trace id (token requests have their own)."""
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for start in range(0, len(trace_ids), 500):
            chunk = trace_ids[start : start + 500]
            stmt = (
                select(E.body)
                .where(E.trace_id.in_(chunk), or_(E.route.is_(None), ~E.route.like("/oauth/%")))
                .order_by(E.seq)
            )
            for row in conn.execute(stmt):
                doc = orjson.loads(row[0])
                out.setdefault(doc["trace_id"], []).append(doc)
    return out


def pair_logs(asking: Engine, answering: Engine) -> Pairing:
    """Pair every forwarded call in `asking`'s log with the member's events of the same trace."""
    mine = asking_events(asking)
    theirs = answering_events(answering, sorted({e["trace_id"] for e in mine if e.get("trace_id")}))
    result = Pairing()
    for event in mine:
        other = theirs.get(event.get("trace_id") or "", [])
        short = {k: event.get(k) for k in SHOWN}
        if other:
            result.pairs.append(
                {
                    "trace_id": event["trace_id"],
                    "asked": short,
                    "answered": [{k: o.get(k) for k in SHOWN} for o in other],
                }
            )
        else:
            result.unpaired.append(short)
    return result
