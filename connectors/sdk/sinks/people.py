"""Person records: link by citizen ID, upsert resident_source with provenance, enrolments of the person."""

from __future__ import annotations

from typing import Any

import orjson

from connectors.sdk import changes
from connectors.sdk.errors import Reason
from connectors.sdk.records import EnrollmentRecord, PersonRecord, content_hash
from connectors.sdk.sinks import BatchContext, new_household_id, new_resident_id
from connectors.sdk.sinks.withdraw import hold_linked_enrollments, waiting_reason

_UPSERT_SOURCE = (
    "INSERT INTO resident_source (source, record_key, resident_id, national_id, household_id, "
    'source_updated_at, content_hash, "values", first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?) '
    "ON CONFLICT (source, record_key) DO UPDATE SET resident_id = excluded.resident_id, "
    "national_id = excluded.national_id, household_id = excluded.household_id, "
    "source_updated_at = excluded.source_updated_at, content_hash = excluded.content_hash, "
    '"values" = excluded."values", last_seen = excluded.last_seen'
)
UPSERT_ENROLLMENT = (
    "INSERT INTO enrollment (id, resident_id, kind, status, source, record_key, updated_at, doc) "
    "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET resident_id = excluded.resident_id, "
    "kind = excluded.kind, status = excluded.status, updated_at = excluded.updated_at, doc = excluded.doc"
)


def enrollment_row(ctx: BatchContext, rec: EnrollmentRecord, *, resident_id: str) -> tuple[Any, ...]:
    """Build the enrollment row (its doc is schemas.models.Enrollment JSON); id = '{source}:{record_key}'."""
    eid = f"{ctx.source}:{rec.record_key}"
    doc = {
        "id": eid,
        "resident_id": resident_id,
        "kind": rec.kind.value,
        "department": ctx.department,
        "status": rec.status.value,
        "amount_monthly": rec.amount_monthly,
        "start": rec.start,
        "end": rec.end,
        "source": ctx.source,
        "record_key": rec.record_key,
    }
    return (
        eid,
        resident_id,
        rec.kind.value,
        rec.status.value,
        ctx.source,
        rec.record_key,
        ctx.store.ts(rec.updated_at or ctx.now),
        orjson.dumps(doc).decode(),
    )


def child_range(person_key: str) -> tuple[str, str]:
    """Return [low, high) of the record keys of a person's enrolments ('{person_key}/…'), index-backed."""
    return person_key + "/", person_key + "0"  # '0' is the character after '/'


def write_people(ctx: BatchContext, items: list[tuple[dict[str, Any], PersonRecord]]) -> None:
    """Upsert a batch of person records: unchanged ones cost one bulk lookup, changed ones are linked."""
    store, source = ctx.store, ctx.source
    latest: dict[str, PersonRecord] = {}
    for _payload, rec in items:  # the same key twice in a batch: the later read wins
        latest[rec.record_key] = rec
    ctx.superseded += len(items) - len(latest)
    existing = {
        row[0]: row[1:]
        for row in store.rows_in(
            "SELECT record_key, resident_id, content_hash, household_id, national_id FROM resident_source "
            "WHERE source = ? AND record_key IN ({in})",
            latest,
            before=(source,),
        )
    }
    changed: list[tuple[PersonRecord, str, tuple[Any, ...] | None]] = []
    for key, rec in latest.items():
        digest = content_hash(rec)
        old = existing.get(key)
        if old is not None and old[1] == digest:
            ctx.unchanged += 1
            ctx.stored.append(key)
            continue
        changed.append((rec, digest, old))
    if not changed:
        return

    # Link by normalised citizen ID (GB 11643-1999): one bulk lookup over every source's records.
    wanted = {
        r.national_id for r, _, old in changed if r.national_id and not (old and old[3] == r.national_id)
    }
    linked: dict[str, str] = {}
    known_household: dict[str, str] = {}
    for nid, rid, hid in store.rows_in(
        "SELECT national_id, resident_id, household_id FROM resident_source WHERE national_id IN ({in})",
        wanted,
    ):
        linked[nid] = rid
        if hid:
            known_household[rid] = hid

    returning = _returning(ctx, [r.record_key for r, _, old in changed if old is None])
    households = _households(ctx, {r.household_no for r, _, _ in changed if r.household_no})
    rows: list[tuple[Any, ...]] = []
    children_gone: list[tuple[str, str, str]] = []
    children: list[tuple[Any, ...]] = []
    relinked: list[tuple[str, str]] = []
    for rec, digest, old in changed:
        if rec.national_id is None:
            # No ID number at all: the person is kept apart as their own resident, never merged.
            rid = old[0] if old is not None and old[3] is None else new_resident_id()
        elif old is not None and old[3] == rec.national_id:
            rid = old[0]
        else:
            rid = linked.get(rec.national_id) or linked.setdefault(
                rec.national_id, returning.pop(rec.record_key, "") or new_resident_id()
            )
        hid = households.get(rec.household_no) if rec.household_no else None
        values = dict(rec.values)
        values["national_id"] = rec.national_id
        values["department"] = ctx.department
        values["version"] = rec.version
        if hid is not None:
            values["household_id"] = hid
            values["household_no"] = rec.household_no
        rows.append(
            (
                source,
                rec.record_key,
                rid,
                rec.national_id,
                hid,
                store.ts(rec.updated_at),
                digest,
                orjson.dumps(values).decode(),
                ctx.now_ts,
                ctx.now_ts,
            )
        )
        ctx.dirty.add(hid or known_household.get(rid) or (old[2] if old is not None and old[2] else rid))
        if old is None:
            ctx.created += 1
        else:
            ctx.updated += 1
            if old[2] and old[2] != hid:
                ctx.dirty.add(old[2])
            if old[0] != rid:
                ctx.dirty.add(old[0])
                relinked.append((old[0], rid))
            low, high = child_range(rec.record_key)
            children_gone.append((source, low, high))
        for child in rec.enrollments:
            if not child.record_key.startswith(rec.record_key + "/"):
                raise ValueError(f"enrolment key {child.record_key!r} must start with {rec.record_key!r}/")
            children.append(enrollment_row(ctx, child, resident_id=rid))
        ctx.stored.append(rec.record_key)
    store.many(_UPSERT_SOURCE, rows)
    before: dict[str, str] = {}
    for _source, low, high in children_gone:
        before.update(
            store.rows(
                "SELECT id, doc FROM enrollment WHERE source = ? AND record_key >= ? AND record_key < ?",
                (source, low, high),
            )
        )
    store.many(
        "DELETE FROM enrollment WHERE source = ? AND record_key >= ? AND record_key < ?", children_gone
    )
    store.many(UPSERT_ENROLLMENT, children)
    changes.append(store, changes.enrollment_changes(before, {c[0]: c[7] for c in children}), now=ctx.now)
    for old_rid, new_rid in relinked:
        _move_orphaned(ctx, old_rid, new_rid)


def _returning(ctx: BatchContext, keys: list[str]) -> dict[str, str]:
    """Return the resident ids that held-back records had, when no record holds those ids now.

    A record released after correction brings its resident back under the same id, so consents and
    enrolments kept meanwhile find it again.
    """
    keys = [k for k in keys if k in ctx.held_keys]
    if not keys:
        return {}
    before = dict(
        ctx.store.rows_in(
            "SELECT record_key, resident_id FROM quarantine WHERE source = ? AND resident_id IS NOT NULL "
            "AND record_key IN ({in})",
            keys,
            before=(ctx.source,),
        )
    )
    taken = {
        rid
        for (rid,) in ctx.store.rows_in(
            "SELECT resident_id FROM resident_source WHERE resident_id IN ({in})", set(before.values())
        )
    }
    return {key: rid for key, rid in before.items() if rid not in taken}


def _households(ctx: BatchContext, numbers: set[str]) -> dict[str, str]:
    """Return household ids by household number (户号), creating a household row for each new number."""
    store = ctx.store
    found = dict(
        store.rows_in("SELECT household_no, id FROM household WHERE household_no IN ({in})", numbers)
    )
    fresh = [(new_household_id(), no) for no in sorted(numbers) if no not in found]
    store.many(
        "INSERT INTO household (id, household_no, region_code, head_resident_id, updated_at) "
        "VALUES (?,?,?,?,?)",
        [(hid, no, None, None, ctx.now_ts) for hid, no in fresh],
    )
    found.update((no, hid) for hid, no in fresh)
    return found


def _move_orphaned(ctx: BatchContext, old_rid: str, new_rid: str) -> None:
    """When a corrected ID moves a resident's last record elsewhere, its enrolments follow the record."""
    left = ctx.store.rows("SELECT 1 FROM resident_source WHERE resident_id = ? LIMIT 1", (old_rid,))
    if not left:
        ctx.store.run("UPDATE enrollment SET resident_id = ? WHERE resident_id = ?", (new_rid, old_rid))


def forget_people(
    ctx: BatchContext, keys: list[str], *, linked_reason: str = Reason.RESIDENT_HELD_BACK
) -> None:
    """Drop the stored translation of person records now held back (never serve a value we refused).

    What hangs on them is kept: the resident id in their quarantine rows, the source's separate
    enrolments in quarantine with `linked_reason` (see connectors/sdk/sinks/withdraw.py).
    """
    store = ctx.store
    owners: dict[str, str] = {}
    for key, rid, hid in store.rows_in(
        "SELECT record_key, resident_id, household_id FROM resident_source "
        "WHERE source = ? AND record_key IN ({in})",
        keys,
        before=(ctx.source,),
    ):
        owners[key] = rid
        ctx.dirty.add(rid)
        if hid:
            ctx.dirty.add(hid)
    store.many(
        "UPDATE quarantine SET resident_id = ? WHERE source = ? AND record_key = ?",
        [(rid, ctx.source, key) for key, rid in owners.items()],
    )
    # A record that clashed under a shared ID and is now gone from the store has no conflict left.
    store.run_in(
        "UPDATE quarantine SET released_at = ?, resolution = 'withdrawn' WHERE source = ? "
        "AND reason = 'id_conflict' AND released_at IS NULL AND record_key IN ({in})",
        keys,
        before=(ctx.now_ts, ctx.source),
    )
    store.run_in(
        "DELETE FROM resident_source WHERE source = ? AND record_key IN ({in})", keys, before=(ctx.source,)
    )
    ranges = [(ctx.source, *child_range(k)) for k in keys]
    before: dict[str, str] = {}
    for params in ranges:
        before.update(
            store.rows(
                "SELECT id, doc FROM enrollment WHERE source = ? AND record_key >= ? AND record_key < ?",
                params,
            )
        )
    store.many("DELETE FROM enrollment WHERE source = ? AND record_key >= ? AND record_key < ?", ranges)
    changes.append(store, changes.enrollment_changes(before, {}), now=ctx.now)
    hold_linked_enrollments(ctx, owners, reason=linked_reason)


def write_enrollments(ctx: BatchContext, items: list[tuple[dict[str, Any], EnrollmentRecord]]) -> None:
    """Upsert enrolments that link to a resident through a person record of the same source."""
    store = ctx.store
    people = {
        row[0]: row[1:]
        for row in store.rows_in(
            "SELECT record_key, resident_id, household_id FROM resident_source "
            "WHERE source = ? AND record_key IN ({in})",
            {rec.person_key for _, rec in items},
            before=(ctx.source,),
        )
    }
    ready: dict[str, tuple[tuple[Any, ...], str]] = {}
    for payload, rec in items:
        person = people.get(rec.person_key)
        if person is None:
            reason = waiting_reason(ctx, rec.person_key)
            ctx.hold(
                rec.record_key,
                payload,
                reason=reason,
                message=f"person {rec.person_key} is not in the store ({reason})",
                kind="enrollment",
            )
            continue
        row = enrollment_row(ctx, rec, resident_id=person[0])
        ready[row[0]] = (row, person[1] or person[0])
    docs = dict(store.rows_in("SELECT id, doc FROM enrollment WHERE id IN ({in})", ready))
    writes = []
    for eid, (row, mark) in ready.items():
        ctx.stored.append(row[5])
        old = docs.get(eid)
        if old == row[7]:
            ctx.unchanged += 1
            continue
        if old is None:
            ctx.created += 1
        else:
            ctx.updated += 1
            old_rid = orjson.loads(old).get("resident_id")
            if old_rid and old_rid != row[1]:
                ctx.dirty.add(old_rid)
        ctx.dirty.add(mark)
        writes.append(row)
    store.many(UPSERT_ENROLLMENT, writes)
    old_docs = {row[0]: docs[row[0]] for row in writes if row[0] in docs}
    changes.append(
        store, changes.enrollment_changes(old_docs, {row[0]: row[7] for row in writes}), now=ctx.now
    )


def forget_enrollments(ctx: BatchContext, keys: list[str]) -> None:
    """Drop stored enrolments now held back, and recompute their residents' tags."""
    ids = [f"{ctx.source}:{k}" for k in keys]
    before = dict(ctx.store.rows_in("SELECT id, doc FROM enrollment WHERE id IN ({in})", ids))
    for doc in before.values():
        ctx.dirty.add(orjson.loads(doc)["resident_id"])
    ctx.store.run_in("DELETE FROM enrollment WHERE id IN ({in})", ids)
    changes.append(ctx.store, changes.enrollment_changes(before, {}), now=ctx.now)
