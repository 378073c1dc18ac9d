"""Raise early-warning items after a sync or a push: every rule over every resident, new items only.

Runs on the writer's own connection, in one write transaction holding the sync write lock, so the items
and their `alert.raised` change-log rows commit together and in log order (connectors/sdk/changes.py).
Each item is keyed by rule and subject: one raised stays until closed and is never raised twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from connectors.sdk.changes import Change, append
from connectors.sdk.store import write_tx
from gateway.settings import get_settings
from policies.alerts import ALERT_RAISED, AlertRule, Facts, Hit, evaluate_all
from policies.loader import DEFAULT_DIR, load_documents

log = logging.getLogger(__name__)
_INSERT = (
    "INSERT INTO alert (id, key, rule_id, department, purpose, resident_id, region_code, detail, state, "
    "raised_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


def new_alert_id() -> str:
    """Return a fresh, unguessable item id (A + 16 hex digits)."""
    return "A" + secrets.token_hex(8).upper()


def shipped_rules(directory: Path | None = None) -> list[AlertRule]:
    """Return the early-warning rules of the configured policy directory (GATEWAY_POLICY_DIR)."""
    if directory is None:
        directory = get_settings().policy_dir or DEFAULT_DIR
    return list(load_documents(directory).alerts.rules)


def _facts(rows: list[tuple[Any, ...]]) -> dict[str, Facts]:
    return {rid: Facts(orjson.loads(doc)) for rid, doc in rows}


def load_facts(store: Any) -> dict[str, Facts]:
    """Read every resident with active enrolments, migration record and household members."""
    facts = _facts(store.rows("SELECT id, doc FROM resident"))
    for rid, doc in store.rows("SELECT resident_id, doc FROM enrollment WHERE status = 'active'"):
        if rid in facts:
            facts[rid].enrollments.append(orjson.loads(doc))
    for rid, doc in store.rows("SELECT resident_id, doc FROM migration"):
        if rid in facts:
            facts[rid].migration = orjson.loads(doc)
    households: dict[str, list[Facts]] = defaultdict(list)
    for f in facts.values():
        if f.resident.get("household_id"):
            households[f.resident["household_id"]].append(f)
    for members in households.values():
        for f in members:
            f.household = [m.resident for m in members if m is not f]
    return facts


def raise_alerts(
    conn: Connection, *, now: dt.datetime, today: dt.date, rules: list[AlertRule] | None = None
) -> list[Hit]:
    """Evaluate the rules over the store and record the new items; return what was raised."""
    rules = shipped_rules() if rules is None else rules
    if not rules:
        return []
    with write_tx(conn) as store:
        known = {key for (key,) in store.rows("SELECT key FROM alert")}
        facts = load_facts(store)
        raised: list[tuple[Hit, str, str | None]] = []
        for rid, f in facts.items():
            for hit in evaluate_all(rules, f, today=today):
                if hit.key not in known:
                    known.add(hit.key)
                    raised.append((hit, rid, f.resident.get("region_code")))
        rows, changes, stamp = [], [], store.ts(now)
        for hit, rid, region in raised:
            aid = new_alert_id()
            r = hit.rule
            rows.append(
                (aid, hit.key, r.id, r.department.value, r.purpose, rid, region, hit.detail, "open", stamp)
            )
            tags = tuple(facts[rid].resident.get("tags") or ())
            # The rule id stands in the entry's `fields`: the feed shows the item to the rule's readers only.
            changes.append(
                Change("alert", aid, "created", (r.id,), event=ALERT_RAISED, status="open",
                       regions=(region,) if region else (), tags=tags, resident_id=rid)
            )  # fmt: skip
        store.many(_INSERT, rows)
        append(store, changes, now=now)
    if raised:
        log.info("early warning: %d new item(s)", len(raised))
    return [hit for hit, _, _ in raised]
