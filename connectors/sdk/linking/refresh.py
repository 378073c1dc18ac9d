"""Recompute the served documents of dirty residents and households: merge, tags, employment, migration.

Sinks mark what a batch touched in `sync_dirty` ('H…' a household, 'R…' a resident), in the batch's own
transaction, so a crash leaves the marks for the next sync. A refresh takes the marks in chunks, widens
each to whole households (living_alone and left_behind_child depend on the other members), merges every
member from its source records, and writes only documents that changed: a re-run with no source change
writes nothing, not even updated_at.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry import trace
from sqlalchemy import Connection

from connectors.sdk.linking.conflicts import hold_conflicts, steward_links
from connectors.sdk.linking.merge import Merged, SourceRow, merge, resident_body
from connectors.sdk.linking.statements import INSERT_TAG, TAG_KINDS, UPSERT_DETAIL, UPSERT_RESIDENT
from connectors.sdk.linking.tags import CHILD_AGE, ELDERLY_AGE, household_tags, receiving_kinds, years_before
from connectors.sdk.normalise import iso_utc
from connectors.sdk.state import save_tags_date, tags_date
from store import changes
from store.bulk import Store, write_tx

tracer = trace.get_tracer(__name__)
CHUNK = 2000


@dataclass
class RefreshSummary:
    """What a refresh wrote."""

    residents_created: int = 0
    residents_updated: int = 0
    residents_unchanged: int = 0
    residents_removed: int = 0
    households_updated: int = 0
    households_removed: int = 0
    duration: float = 0.0


def refresh(conn: Connection, *, now: dt.datetime, today: dt.date, chunk: int = CHUNK) -> RefreshSummary:
    """Recompute every dirty resident and household; return the tallies."""
    summary = RefreshSummary()
    started = time.perf_counter()
    with tracer.start_as_current_span("sync.refresh") as span:
        with write_tx(conn) as store:
            _mark_birthdays(store, today=today, now=now)
        while True:
            with write_tx(conn) as store:
                keys = [k for (k,) in store.rows("SELECT key FROM sync_dirty ORDER BY key LIMIT ?", (chunk,))]
                if not keys:
                    break
                _refresh_keys(store, keys, now=now, today=today, summary=summary)
                store.run_in("DELETE FROM sync_dirty WHERE key IN ({in})", keys)
        summary.duration = time.perf_counter() - started
        span.set_attribute("xz.residents.written", summary.residents_created + summary.residents_updated)
    return summary


def _mark_birthdays(store: Store, *, today: dt.date, now: dt.datetime) -> None:
    """Mark residents who turned 60 or 16 since tags were last computed (their tags change with the date)."""
    last = tags_date(store)
    if last is not None and last < today:
        for years in (ELDERLY_AGE, CHILD_AGE):
            low, high = years_before(last, years), years_before(today, years)
            store.run(
                "INSERT INTO sync_dirty (key) SELECT id FROM resident "
                "WHERE birth_date > ? AND birth_date <= ? "
                "ON CONFLICT (key) DO NOTHING",
                (store.day(low), store.day(high)),
            )
    if last != today:
        save_tags_date(store, today, now=now)


def _load(store: Store, ids: set[str], into: dict[str, list[SourceRow]]) -> None:
    for rid, source, key, updated, values in store.rows_in(
        'SELECT resident_id, source, record_key, source_updated_at, "values" FROM resident_source '
        "WHERE resident_id IN ({in})",
        ids,
    ):
        into.setdefault(rid, []).append(SourceRow(source, key, _rfc3339(updated), orjson.loads(values)))


def _rfc3339(stored: Any) -> str | None:
    """Return a stored timestamp as RFC 3339 UTC text (SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' UTC)."""
    if stored is None:
        return None
    if isinstance(stored, str):
        return f"{stored[:10]}T{stored[11:19]}Z"
    return iso_utc(stored)


def _members(store: Store, households: set[str]) -> set[str]:
    found = {
        r
        for (r,) in store.rows_in(
            "SELECT resident_id FROM resident_source WHERE household_id IN ({in})", households
        )
    }
    found.update(
        r for (r,) in store.rows_in("SELECT id FROM resident WHERE household_id IN ({in})", households)
    )
    return found


def _refresh_keys(
    store: Store, keys: list[str], *, now: dt.datetime, today: dt.date, summary: RefreshSummary
) -> None:
    """Recompute one chunk of dirty keys, widened to whole households."""
    residents = {k for k in keys if k.startswith("R")}
    households = {k for k in keys if k.startswith("H")} | _households_of(store, residents)
    members = residents | _members(store, households)
    rows: dict[str, list[SourceRow]] = {}
    _load(store, members, rows)
    merged = {rid: merge(rid, r) for rid, r in rows.items()}
    _widen(store, rows=rows, merged=merged, members=members, households=households)
    groups = _tag_households(store, merged, today=today)
    linked = steward_links(store, merged)
    if linked:  # a data steward declared clashing records one person: merge them after all
        for rid in {
            rid
            for rid, m in merged.items()
            if any((r.source, r.record_key) in linked for r, _ in m.conflicts)
        }:
            merged[rid] = merge(rid, rows[rid], linked=linked)
    hold_conflicts(store, merged, rows, now=now)
    moved = _write_residents(store, merged, members=members, now=now, summary=summary)
    _write_details(store, merged, members=members, now=now)
    _write_households(store, households, groups=groups, moved=moved, now=now, summary=summary)


def _households_of(store: Store, residents: set[str]) -> set[str]:
    """Return the households the residents are in, as stored and as any source record says."""
    return {
        h
        for sql in (
            "SELECT household_id FROM resident_source "
            "WHERE household_id IS NOT NULL AND resident_id IN ({in})",
            "SELECT household_id FROM resident WHERE household_id IS NOT NULL AND id IN ({in})",
        )
        for (h,) in store.rows_in(sql, residents)
    }


def _widen(
    store: Store,
    *,
    rows: dict[str, list[SourceRow]],
    merged: dict[str, Merged],
    members: set[str],
    households: set[str],
) -> None:
    """Load the members of households the merged residents are served in but the chunk lacks (in place)."""
    for _ in range(3):  # a member whose served household is not yet loaded widens the chunk once more
        more = {
            m.values["household_id"] for m in merged.values() if m.values.get("household_id")
        } - households
        if not more:
            return
        households |= more
        extra = _members(store, more) - members
        members |= extra
        fresh: dict[str, list[SourceRow]] = {}
        _load(store, extra, fresh)
        rows.update(fresh)
        merged.update((rid, merge(rid, r)) for rid, r in fresh.items())


def _tag_households(
    store: Store, merged: dict[str, Merged], *, today: dt.date
) -> dict[str | None, list[Merged]]:
    """Tag the merged residents household by household; return them grouped by household."""
    # Only what tags read: active enrolments of the kinds that make someone low income or disabled.
    receiving = receiving_kinds(
        store.rows_in(
            f"SELECT resident_id, kind, status FROM enrollment WHERE status = 'active' "  # noqa: S608 - constants
            f"AND kind IN ({TAG_KINDS}) AND resident_id IN ({{in}})",
            merged,
        )
    )
    groups: dict[str | None, list[Merged]] = {}
    for m in merged.values():
        groups.setdefault(m.values.get("household_id"), []).append(m)
    for hid, people in groups.items():
        if hid is None:
            for person in people:
                household_tags([person], receiving=receiving, today=today, registered=False)
        else:
            household_tags(people, receiving=receiving, today=today, registered=True)
    return groups


def _stem(doc: str) -> str:
    """Return a stored document without its trailing updated_at (written last)."""
    cut = doc.rfind(',"updated_at":')
    return doc[:cut] if cut >= 0 else doc


def _write_residents(
    store: Store, merged: dict[str, Merged], *, members: set[str], now: dt.datetime, summary: RefreshSummary
) -> set[str]:
    """Write the residents whose documents changed; return the households whose membership changed."""
    current = dict(store.rows_in("SELECT id, doc FROM resident WHERE id IN ({in})", members))
    moved: set[str] = set()
    stamp = f',"updated_at":"{iso_utc(now)}"}}'
    writes: list[tuple[Any, ...]] = []
    retag: list[tuple[str]] = []
    tags: list[tuple[str, str]] = []
    log: list[changes.Change] = []
    for rid, m in merged.items():
        body = resident_body(m)
        stem = orjson.dumps(body).decode()[:-1]
        old = current.get(rid)
        if old is not None and _stem(old) == stem:
            summary.residents_unchanged += 1
            continue
        previous = orjson.loads(old) if old is not None else None
        was, now_in = (previous or {}).get("household_id"), body.get("household_id")
        if was != now_in:
            moved.update(h for h in (was, now_in) if h)
        change = changes.resident_change(rid, previous, body)
        if change is not None:
            log.append(change)
        if old is None:
            summary.residents_created += 1
        else:
            summary.residents_updated += 1
            retag.append((rid,))
        writes.append(_resident_row(store, m, doc=stem + stamp, now=now))
        tags.extend((rid, t) for t in m.tags)
    gone = [rid for rid in current if rid not in merged]
    summary.residents_removed += len(gone)
    log.extend(_removed(current, gone, moved=moved))
    changes.append(store, log, now=now)
    store.insert(UPSERT_RESIDENT, writes)
    store.many("DELETE FROM resident_tag WHERE resident_id = ?", retag)
    store.insert(INSERT_TAG, tags)
    for table, column in (("resident_tag", "resident_id"), ("enrollment", "resident_id"), ("resident", "id")):
        store.run_in(f"DELETE FROM {table} WHERE {column} IN ({{in}})", gone)  # noqa: S608 - fixed names
    return moved


def _resident_row(store: Store, m: Merged, *, doc: str, now: dt.datetime) -> tuple[Any, ...]:
    """Return the resident table row of a merged resident (in UPSERT_RESIDENT's order)."""
    v = m.values
    birth = v.get("birth_date")
    return (
        m.resident_id,
        m.national_id,
        v.get("region_code"),
        v.get("household_id"),
        v.get("status") or "active",
        m.needs_review,
        store.day(dt.date.fromisoformat(birth)) if birth else None,
        store.ts(now),
        store.ts(now),
        doc,
    )


def _removed(current: dict[str, str], gone: list[str], *, moved: set[str]) -> list[changes.Change]:
    """Return the change-log entries of residents no record holds any more; note their households."""
    log = []
    for rid in gone:
        last = orjson.loads(current[rid])  # where it was: the readers who could see it learn it is gone
        if last.get("household_id"):
            moved.add(last["household_id"])
        region = last.get("region_code")
        log.append(
            changes.Change(
                "resident",
                rid,
                "removed",
                (),
                regions=(region,) if region else (),
                tags=tuple(last.get("tags") or ()),
                resident_id=rid,
            )
        )
    return log


def _write_details(store: Store, merged: dict[str, Merged], *, members: set[str], now: dt.datetime) -> None:
    """Upsert employment (from HR) and migration (latest register month) rows; drop ones no longer held."""
    for table, attr in (("employment", "employment"), ("migration", "migration")):
        want: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for m in merged.values():
            detail = getattr(m, attr)
            if detail is not None:
                want[(m.resident_id, detail["source"])] = (detail, orjson.dumps(detail).decode())
        have = {
            (rid, source): doc
            for rid, source, doc in store.rows_in(
                f"SELECT resident_id, source, doc FROM {table} WHERE resident_id IN ({{in}})",  # noqa: S608
                members,
            )
        }
        writes: list[tuple[Any, ...]] = []
        log: list[changes.Change] = []
        for (rid, source), (detail, doc) in want.items():
            if have.get((rid, source)) == doc:
                continue
            if table == "migration" and (rid, source) not in have:
                log.append(_migrant_registered(merged[rid]))
            stamp = store.ts(now)
            if table == "employment":
                writes.append((rid, source, detail["record_key"], detail["status"] or "none", stamp, doc))
            else:
                writes.append((rid, source, detail["record_key"], stamp, doc))
        store.insert(UPSERT_DETAIL[table], writes)
        changes.append(store, log, now=now)
        stale = [key for key in have if key not in want]
        store.many(f"DELETE FROM {table} WHERE resident_id = ? AND source = ?", stale)  # noqa: S608


def _migrant_registered(m: Merged) -> changes.Change:
    """Return the change announcing a migrant worker's first register record from a source."""
    region = m.values.get("region_code")
    return changes.Change(
        "resident",
        m.resident_id,
        "updated",
        (),
        event=changes.RESIDENT_MIGRANT_REGISTERED,
        status=m.values.get("status") or "active",
        regions=(region,) if region else (),
        tags=tuple(m.tags),
        resident_id=m.resident_id,
    )


def _head_rank(person: Merged) -> tuple[bool, str]:
    mark = person.provenance.get("relation") or {}
    return ((person.values.get("status") or "active") != "active", str(mark.get("record_key") or ""))


def _write_households(
    store: Store,
    households: set[str],
    *,
    groups: dict[str | None, list[Merged]],
    moved: set[str],
    now: dt.datetime,
    summary: RefreshSummary,
) -> None:
    """Set each household's head (户主, relation 02) and region from its members."""
    stored = {
        hid: (region, head)
        for hid, region, head in store.rows_in(
            "SELECT id, region_code, head_resident_id FROM household WHERE id IN ({in})", households
        )
    }
    writes = []
    empty: list[str] = []
    for hid, (region, head) in stored.items():
        people = groups.get(hid, [])
        if not people:  # its last member left, was merged or is held back: nothing to serve
            empty.append(hid)
            continue
        heads = [p for p in people if p.values.get("relation") == "02"]
        # Two records naming a head: the living one, then the first record key (never the random id, so
        # every store built from the same sources agrees).
        heads.sort(key=_head_rank)
        new_head = heads[0].resident_id if heads else None
        regions = Counter(p.values["region_code"] for p in people if p.values.get("region_code"))
        new_region = (heads[0].values.get("region_code") if heads else None) or (
            min(regions, key=lambda code: (-regions[code], code)) if regions else None
        )
        if (new_region, new_head) != (region, head):
            writes.append((new_region, new_head, store.ts(now), hid))
    summary.households_updated += len({w[3] for w in writes} | (moved & set(stored) - set(empty)))
    referenced = {
        h
        for (h,) in store.rows_in(
            "SELECT household_id FROM resident_source WHERE household_id IN ({in})", empty
        )
    }
    empty = [hid for hid in empty if hid not in referenced]
    summary.households_removed += len(empty)
    store.run_in("DELETE FROM household WHERE id IN ({in})", empty)
    store.many(
        "UPDATE household SET region_code = ?, head_resident_id = ?, updated_at = ? WHERE id = ?", writes
    )
