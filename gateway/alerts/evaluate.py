"""Raise early-warning items after a sync or a push: every rule over every resident, new items only.

Runs on the writer's own connection, in one write transaction holding the sync write lock, so the items
and their `alert.raised` change-log rows commit together and in log order (store/changes.py).
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

from gateway.settings import get_settings
from policies.alerts import ALERT_RAISED, AlertRule, Facts, Hit, ends_within, evaluate, returned_within
from policies.loader import DEFAULT_DIR, load_documents
from store.bulk import write_tx
from store.changes import Change, append
from store.statements import RowInsert
from store.tables import table_of
from store.tables.alerts import AlertRow

log = logging.getLogger(__name__)
_INSERT = RowInsert(
    table_of(AlertRow),
    ("id", "key", "rule_id", "department", "purpose", "resident_id", "region_code", "detail", "state",
     "raised_at"),
)  # fmt: skip


def new_alert_id() -> str:
    """Return a fresh, unguessable item id (A + 16 hex digits)."""
    return "A" + secrets.token_hex(8).upper()


def shipped_rules(directory: Path | None = None) -> list[AlertRule]:
    """Return the early-warning rules of the configured policy directory (GATEWAY_POLICY_DIR)."""
    if directory is None:
        directory = get_settings().policy_dir or DEFAULT_DIR
    return list(load_documents(directory).alerts.rules)


def _candidates(store: Any, rule: AlertRule, *, today: dt.date) -> set[str] | None:
    """Return the residents a rule could apply to, read off indexed columns (None: it could be anyone)."""
    when = rule.when
    if when.tags:
        sql = "SELECT resident_id FROM resident_tag WHERE tag = ?"
        tagged = [{r for (r,) in store.rows(sql, (tag.value,))} for tag in when.tags]
        return set.intersection(*tagged)
    if when.status is not None and when.status.value != "active":
        return {r for (r,) in store.rows("SELECT id FROM resident WHERE status = ?", (when.status.value,))}
    if when.enrolled:
        kinds = [k.value for k in when.enrolled]
        if when.ending_within_days is None:
            sql = "SELECT resident_id FROM enrollment WHERE status = 'active' AND kind IN ({in})"
            return {r for (r,) in store.rows_in(sql, kinds)}
        # Only enrolments ending in the window can raise: reading their small documents here spares
        # parsing every enrolled resident's document (the evaluation's main cost, py-spy at 100k).
        sql = "SELECT resident_id, doc FROM enrollment WHERE status = 'active' AND kind IN ({in})"
        days = when.ending_within_days
        return {
            r for r, doc in store.rows_in(sql, kinds) if ends_within(orjson.loads(doc), day=today, days=days)
        }
    if when.returned_within_days is not None:
        days = when.returned_within_days
        return {
            r
            for r, doc in store.rows("SELECT resident_id, doc FROM migration")
            if returned_within(orjson.loads(doc), day=today, days=days)
        }
    return None


Candidates = list[tuple[AlertRule, set[str]]]
# Residents read per pass: the facts of one chunk are dropped before the next is read, so memory stays
# flat in county size (all 100k documents at once cost ~500 MB, bench/results/2026-12-02-session.md).
CHUNK = 2000


def rule_candidates(store: Any, rules: list[AlertRule], *, today: dt.date) -> Candidates:
    """Return each rule with the residents it could apply to (each rule is tried on its own only)."""
    found = [(rule, _candidates(store, rule, today=today)) for rule in rules]
    everyone: set[str] | None = None
    if any(ids is None for _, ids in found):
        everyone = {r for (r,) in store.rows("SELECT id FROM resident")}
    return [(rule, ids if ids is not None else everyone or set()) for rule, ids in found]


# What the rules read of a resident, straight from the indexed columns and resident_tag: parsing the
# served documents of every candidate and household member was most of the evaluation's time (py-spy,
# 100k county). A rule condition reading another field adds its column here (policies/alerts.py).
_PERSON = "SELECT id, status, birth_date, region_code, household_id FROM resident WHERE {where} IN ({{in}})"
_TAGS = "SELECT resident_id, tag FROM resident_tag WHERE resident_id IN ({in})"


def _people(store: Any, column: str, values: list[str]) -> list[dict[str, Any]]:
    """Return the rule-readable facts (id, status, birth date, region, household, tags) of residents."""
    people = {
        rid: {
            "id": rid,
            "status": status,
            "birth_date": birth if birth is None or isinstance(birth, str) else birth.isoformat(),
            "region_code": region,
            "household_id": home,
            "tags": [],
        }
        for rid, status, birth, region, home in store.rows_in(_PERSON.format(where=column), values)
    }
    for rid, tag in store.rows_in(_TAGS, people):
        people[rid]["tags"].append(tag)
    return list(people.values())


def load_facts(store: Any, ids: list[str], *, households: set[str]) -> dict[str, Facts]:
    """Read what the rules see of `ids` (with active enrolments and migration), and households for those
    in `households`."""
    facts = {person["id"]: Facts(person) for person in _people(store, "id", ids)}
    sql = "SELECT resident_id, doc FROM enrollment WHERE status = 'active' AND resident_id IN ({in})"
    for rid, doc in store.rows_in(sql, facts):
        facts[rid].enrollments.append(orjson.loads(doc))
    for rid, doc in store.rows_in(
        "SELECT resident_id, doc FROM migration WHERE resident_id IN ({in})", facts
    ):
        facts[rid].migration = orjson.loads(doc)
    _load_households(store, [f for rid, f in facts.items() if rid in households])
    return facts


def _load_households(store: Any, facts: list[Facts]) -> None:
    # Only rules about the other members (no_guardian) need them.
    homes = sorted({f.resident["household_id"] for f in facts if f.resident.get("household_id")})
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for member in _people(store, "household_id", homes):
        members[member["household_id"]].append(member)
    for f in facts:
        home = members.get(f.resident.get("household_id") or "", [])
        f.household = [m for m in home if m.get("id") != f.resident.get("id")]


Raised = tuple[Hit, str, str | None, tuple[str, ...]]  # the hit, its resident, region and tags


def _hits(store: Any, per_rule: Candidates, *, known: set[str], today: dt.date) -> list[Raised]:
    """Evaluate every rule on its candidates, a chunk of residents at a time; return the new hits."""
    wanted = sorted(set().union(*(ids for _, ids in per_rule)))
    households = {rid for rule, ids in per_rule if rule.when.no_guardian for rid in ids}
    raised: list[Raised] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        facts = load_facts(store, chunk, households=households)
        for rule, ids in per_rule:
            for rid in sorted(ids & facts.keys()):
                for hit in evaluate(rule, facts[rid], today=today):
                    if hit.key not in known:
                        known.add(hit.key)
                        doc = facts[rid].resident
                        raised.append((hit, rid, doc.get("region_code"), tuple(doc.get("tags") or ())))
    return raised


def raise_alerts(
    conn: Connection, *, now: dt.datetime, today: dt.date, rules: list[AlertRule] | None = None
) -> list[Hit]:
    """Evaluate the rules over the store and record the new items; return what was raised."""
    rules = shipped_rules() if rules is None else rules
    if not rules:
        return []
    with write_tx(conn) as store:
        known = {key for (key,) in store.rows("SELECT key FROM alert")}
        raised = _hits(store, rule_candidates(store, rules, today=today), known=known, today=today)
        rows, changes, stamp = [], [], store.ts(now)
        for hit, rid, region, tags in raised:
            aid = new_alert_id()
            r = hit.rule
            rows.append(
                (aid, hit.key, r.id, r.department.value, r.purpose, rid, region, hit.detail, "open", stamp)
            )
            # The rule id stands in the entry's `fields`: the feed shows the item to the rule's readers only.
            changes.append(
                Change("alert", aid, "created", (r.id,), event=ALERT_RAISED, status="open",
                       regions=(region,) if region else (), tags=tags, resident_id=rid)
            )  # fmt: skip
        store.insert(_INSERT, rows)
        append(store, changes, now=now)
    if raised:
        log.info("early warning: %d new item(s)", len(raised))
    return [hit for hit, *_ in raised]
