"""Quarantine: records held back with raw payload and reason, released when a later sync translates them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import literal_column, or_

from connectors.sdk.sinks import BatchContext
from connectors.sdk.sinks.entities import forget_notices, forget_services
from connectors.sdk.sinks.people import forget_enrollments, forget_people
from connectors.sdk.sinks.withdraw import hold_statement
from store.bulk import Store

# A steward dismissed it: it stays closed while the source sends the same record unchanged.
_HOLD = hold_statement(
    where=lambda q, new: or_(
        q.c.resolution.is_(None), q.c.resolution != literal_column("'dismissed'"), q.c.raw != new.raw
    ),
)

_FORGET: dict[str, Callable[[BatchContext, list[str]], None]] = {
    "person": forget_people,
    "enrollment": forget_enrollments,
    "service": forget_services,
    "notice": forget_notices,
}


def raw_json(payload: dict[str, Any]) -> str:
    """Return a held-back payload as JSON, whatever it holds (a pushed integer may exceed 64 bits)."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits; the standard library writes them exactly.
        return json.dumps(payload, default=str, ensure_ascii=False)


def open_keys(store: Store, source: str) -> set[str]:
    """Return the keys of a source's records in quarantine now (few: loaded once per sync)."""
    return {
        key
        for (key,) in store.rows(
            # id_conflict rows belong to records still stored: the refresh opens and closes them.
            "SELECT record_key FROM quarantine WHERE source = ? AND released_at IS NULL "
            "AND reason <> 'id_conflict'",
            (source,),
        )
    }


def village_choices(store: Store, source: str) -> dict[str, str]:
    """Return the villages data stewards chose for a source's ambiguous records, by record key."""
    return dict(
        store.rows(
            "SELECT record_key, chosen_region FROM quarantine WHERE source = ? AND chosen_region IS NOT NULL",
            (source,),
        )
    )


def write_quarantine(ctx: BatchContext, *, already: set[str]) -> Counter[str]:
    """Upsert the batch's held records (first_seen kept, last_seen now); return counts by reason.

    A record held back for the first time may have been translated by an earlier sync: its stored
    translation is dropped so that the store never serves a value the source has since broken.
    """
    if not ctx.held:
        return Counter()
    held = {h.key: h for h in ctx.held}
    ctx.store.insert(
        _HOLD,
        [
            (
                ctx.source,
                h.key,
                raw_json(h.payload),
                h.reason,
                h.message,
                ctx.now_ts,
                ctx.now_ts,
            )
            for h in held.values()
        ],
    )
    fresh: dict[str, list[str]] = {}
    for h in held.values():
        if h.key not in already:
            fresh.setdefault(h.kind, []).append(h.key)
    for kind, keys in fresh.items():
        forget = _FORGET.get(kind)
        if forget is not None:
            forget(ctx, keys)
    already.update(held)
    return Counter(h.reason for h in ctx.held)


def release(ctx: BatchContext, *, already: set[str]) -> int:
    """Mark released the quarantined records this batch translated and stored; return how many."""
    keys = [k for k in dict.fromkeys(ctx.stored) if k in already and k not in {h.key for h in ctx.held}]
    if not keys:
        return 0
    ctx.store.many(
        "UPDATE quarantine SET released_at = ?, resolution = 'released' "
        "WHERE source = ? AND record_key = ? AND released_at IS NULL",
        [(ctx.now_ts, ctx.source, k) for k in keys],
    )
    already.difference_update(keys)
    return len(keys)
