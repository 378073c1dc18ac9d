"""Person records: link by citizen ID, upsert resident_source with provenance, enrolments of the person."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from connectors.sdk.errors import Reason
from connectors.sdk.records import EnrollmentRecord, PersonRecord, content_hash
from connectors.sdk.sinks import BatchContext
from connectors.sdk.sinks.statements import INSERT_HOUSEHOLD, UPSERT_ENROLLMENT, UPSERT_SOURCE
from connectors.sdk.sinks.withdraw import hold_linked_enrollments, waiting_reason
from store import changes
from store.ids import new_household_id, new_resident_id


class EnrollmentRow(NamedTuple):
    """One row of the enrollment table, in UPSERT_ENROLLMENT's column order."""

    id: str
    resident_id: str
    kind: str
    status: str
    source: str
    record_key: str
    updated_at: Any
    doc: str


def enrollment_row(ctx: BatchContext, rec: EnrollmentRecord, *, resident_id: str) -> EnrollmentRow:
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
    return EnrollmentRow(
        id=eid,
        resident_id=resident_id,
        kind=rec.kind.value,
        status=rec.status.value,
        source=ctx.source,
        record_key=rec.record_key,
        updated_at=ctx.store.ts(rec.updated_at or ctx.now),
        doc=orjson.dumps(doc).decode(),
    )


def child_range(person_key: str) -> tuple[str, str]:
    """Return [low, high) of the record keys of a person's enrolments ('{person_key}/…'), index-backed."""
    return person_key + "/", person_key + "0"  # '0' is the character after '/'


class Stored(NamedTuple):
    """What the store holds of one person record of this source."""

    resident_id: str
    content_hash: str
    household_id: str | None
    national_id: str | None


@dataclass(frozen=True, slots=True)
class Change:
    """A person record whose content differs from what is stored (or that is new)."""

    rec: PersonRecord
    digest: str
    old: Stored | None


@dataclass(slots=True, kw_only=True)
class Links:
    """Resident and household ids found for a batch's changed records."""

    by_national_id: dict[str, str]  # citizen ID -> resident id
    household_of: dict[str, str]  # resident id -> household id, as other sources hold it
    returning: dict[str, str]  # record key -> resident id it had before being held back
    households: dict[str, str]  # household number -> household id


@dataclass(slots=True)
class Writes:
    """What a batch of changed person records writes, gathered before one bulk statement each."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    children_gone: list[tuple[str, str, str]] = field(default_factory=list)
    children: list[EnrollmentRow] = field(default_factory=list)
    relinked: list[tuple[str, str]] = field(default_factory=list)


def write_people(ctx: BatchContext, items: list[tuple[dict[str, Any], PersonRecord]]) -> None:
    """Upsert a batch of person records: unchanged ones cost one bulk lookup, changed ones are linked."""
    latest: dict[str, PersonRecord] = {}
    for _payload, rec in items:  # the same key twice in a batch: the later read wins
        latest[rec.record_key] = rec
    ctx.superseded += len(items) - len(latest)
    changed = _changed(ctx, latest)
    if not changed:
        return
    links = _links(ctx, changed)
    writes = Writes()
    for change in changed:
        _write_one(ctx, change, links=links, writes=writes)
    ctx.store.insert(UPSERT_SOURCE, writes.rows)
    _replace_enrollments(ctx, writes)
    for old_rid, new_rid in writes.relinked:
        _move_orphaned(ctx, old_rid, new_rid)


def _changed(ctx: BatchContext, latest: dict[str, PersonRecord]) -> list[Change]:
    """Return the records whose content hash differs from the stored one; count the unchanged."""
    existing = {
        key: Stored(*rest)
        for key, *rest in ctx.store.rows_in(
            "SELECT record_key, resident_id, content_hash, household_id, national_id FROM resident_source "
            "WHERE source = ? AND record_key IN ({in})",
            latest,
            before=(ctx.source,),
        )
    }
    changed: list[Change] = []
    for key, rec in latest.items():
        digest = content_hash(rec)
        old = existing.get(key)
        if old is not None and old.content_hash == digest:
            ctx.unchanged += 1
            ctx.stored.append(key)
            continue
        changed.append(Change(rec, digest, old))
    return changed


def _links(ctx: BatchContext, changed: list[Change]) -> Links:
    """Find residents by normalised citizen ID (GB 11643-1999) over every source's records, in bulk."""
    wanted = {
        c.rec.national_id
        for c in changed
        if c.rec.national_id and not (c.old and c.old.national_id == c.rec.national_id)
    }
    links = Links(by_national_id={}, household_of={}, returning={}, households={})
    for nid, rid, hid in ctx.store.rows_in(
        "SELECT national_id, resident_id, household_id FROM resident_source WHERE national_id IN ({in})",
        wanted,
    ):
        links.by_national_id[nid] = rid
        if hid:
            links.household_of[rid] = hid
    links.returning = _returning(ctx, [c.rec.record_key for c in changed if c.old is None])
    links.households = _households(ctx, {c.rec.household_no for c in changed if c.rec.household_no})
    return links


def _resident_id(change: Change, links: Links) -> str:
    """Return the resident a changed record belongs to, minting one where nobody holds its ID."""
    rec, old = change.rec, change.old
    if rec.national_id is None:
        # No ID number at all: the person is kept apart as their own resident, never merged.
        return old.resident_id if old is not None and old.national_id is None else new_resident_id()
    if old is not None and old.national_id == rec.national_id:
        return old.resident_id
    return links.by_national_id.get(rec.national_id) or links.by_national_id.setdefault(
        rec.national_id, links.returning.pop(rec.record_key, "") or new_resident_id()
    )


def _write_one(ctx: BatchContext, change: Change, *, links: Links, writes: Writes) -> None:
    """Gather one changed record's source row and enrolments, and mark what it makes dirty."""
    rec, old = change.rec, change.old
    rid = _resident_id(change, links)
    hid = links.households.get(rec.household_no) if rec.household_no else None
    values = dict(rec.values)
    values["national_id"] = rec.national_id
    values["department"] = ctx.department
    values["version"] = rec.version
    if hid is not None:
        values["household_id"] = hid
        values["household_no"] = rec.household_no
    updated_at = ctx.store.ts(rec.updated_at)
    doc = orjson.dumps(values).decode()
    row = (ctx.source, rec.record_key, rid, rec.national_id, hid, updated_at, change.digest, doc)
    writes.rows.append((*row, ctx.now_ts, ctx.now_ts))
    old_household = old.household_id if old is not None else None
    ctx.dirty.add(hid or links.household_of.get(rid) or old_household or rid)
    if old is None:
        ctx.created += 1
    else:
        ctx.updated += 1
        if old_household and old_household != hid:
            ctx.dirty.add(old_household)
        if old.resident_id != rid:
            ctx.dirty.add(old.resident_id)
            writes.relinked.append((old.resident_id, rid))
        writes.children_gone.append((ctx.source, *child_range(rec.record_key)))
    for child in rec.enrollments:
        if not child.record_key.startswith(rec.record_key + "/"):
            raise ValueError(f"enrolment key {child.record_key!r} must start with {rec.record_key!r}/")
        writes.children.append(enrollment_row(ctx, child, resident_id=rid))
    ctx.stored.append(rec.record_key)


def _replace_enrollments(ctx: BatchContext, writes: Writes) -> None:
    """Replace the enrolments of changed people with the ones they carry now, logging the changes."""
    before = _enrollments_in(ctx, writes.children_gone)
    ctx.store.many(
        "DELETE FROM enrollment WHERE source = ? AND record_key >= ? AND record_key < ?", writes.children_gone
    )
    ctx.store.insert(UPSERT_ENROLLMENT, writes.children)
    after = {c.id: c.doc for c in writes.children}
    changes.append(ctx.store, changes.enrollment_changes(before, after), now=ctx.now)


def _enrollments_in(ctx: BatchContext, ranges: list[tuple[str, str, str]]) -> dict[str, str]:
    """Return the stored enrolment documents by id within (source, low, high) key ranges."""
    before: dict[str, str] = {}
    for params in ranges:
        before.update(
            ctx.store.rows(
                "SELECT id, doc FROM enrollment WHERE source = ? AND record_key >= ? AND record_key < ?",
                params,
            )
        )
    return before


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
    store.insert(INSERT_HOUSEHOLD, [(hid, no, None, None, ctx.now_ts) for hid, no in fresh])
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
    before = _enrollments_in(ctx, ranges)
    store.many("DELETE FROM enrollment WHERE source = ? AND record_key >= ? AND record_key < ?", ranges)
    changes.append(store, changes.enrollment_changes(before, {}), now=ctx.now)
    hold_linked_enrollments(ctx, owners, reason=linked_reason)


def write_enrollments(ctx: BatchContext, items: list[tuple[dict[str, Any], EnrollmentRecord]]) -> None:
    """Upsert enrolments that link to a resident through a person record of the same source."""
    store = ctx.store
    people: dict[str, tuple[str, str | None]] = {
        key: (rid, hid)
        for key, rid, hid in store.rows_in(
            "SELECT record_key, resident_id, household_id FROM resident_source "
            "WHERE source = ? AND record_key IN ({in})",
            {rec.person_key for _, rec in items},
            before=(ctx.source,),
        )
    }
    ready: dict[str, tuple[EnrollmentRow, str]] = {}
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
        resident_id, household_id = person
        row = enrollment_row(ctx, rec, resident_id=resident_id)
        ready[row.id] = (row, household_id or resident_id)
    docs = dict(store.rows_in("SELECT id, doc FROM enrollment WHERE id IN ({in})", ready))
    writes = []
    for eid, (row, mark) in ready.items():
        ctx.stored.append(row.record_key)
        old = docs.get(eid)
        if old == row.doc:
            ctx.unchanged += 1
            continue
        if old is None:
            ctx.created += 1
        else:
            ctx.updated += 1
            old_rid = orjson.loads(old).get("resident_id")
            if old_rid and old_rid != row.resident_id:
                ctx.dirty.add(old_rid)
        ctx.dirty.add(mark)
        writes.append(row)
    store.insert(UPSERT_ENROLLMENT, writes)
    old_docs = {row.id: docs[row.id] for row in writes if row.id in docs}
    changes.append(
        store, changes.enrollment_changes(old_docs, {row.id: row.doc for row in writes}), now=ctx.now
    )


def forget_enrollments(ctx: BatchContext, keys: list[str]) -> None:
    """Drop stored enrolments now held back, and recompute their residents' tags."""
    ids = [f"{ctx.source}:{k}" for k in keys]
    before = dict(ctx.store.rows_in("SELECT id, doc FROM enrollment WHERE id IN ({in})", ids))
    for doc in before.values():
        ctx.dirty.add(orjson.loads(doc)["resident_id"])
    ctx.store.run_in("DELETE FROM enrollment WHERE id IN ({in})", ids)
    changes.append(ctx.store, changes.enrollment_changes(before, {}), now=ctx.now)
