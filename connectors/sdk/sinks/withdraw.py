"""Nothing lost, nothing kept past its source: hold what hangs on a held-back person, withdraw the deleted.

When a person record is held back (or deleted at its source) and its resident loses the last record of
that source, the source's separate enrolments of that resident (civil affairs' T_JZ_DBXX rows) cannot be
served, yet the source will not send them again: they are moved to quarantine with their stored row as a
marker payload (`{"__stored__": doc, "person_key": key}`), reason `resident_held_back` (or
`unknown_resident` when the person is gone from the source), and restored at the end of the first sync
that stores their person again. A full sync, or a source that lists its keys, withdraws stored records
the source no longer holds and closes their quarantine rows as `withdrawn`; a withdrawn person record's
values stay as provenance history (`resident_source_history`) and its resident gets a `record.withdrawn`
change-feed entry (then the refresh's own `updated` or `removed` one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import null

from connectors.sdk.errors import Reason
from connectors.sdk.seen import SeenKeys
from connectors.sdk.sinks import BatchContext
from connectors.sdk.sinks.statements import UPSERT_ENROLLMENT
from store import changes
from store.statements import Excluded, RowInsert
from store.tables import table_of
from store.tables.records import QuarantineRow, ResidentSourceHistoryRow


def hold_statement(*, where: Excluded | None = None) -> RowInsert:
    """Return the upsert holding records in quarantine (first_seen kept); `where` keeps some closed."""
    return RowInsert(
        table_of(QuarantineRow),
        ("source", "record_key", "raw", "reason", "message", "first_seen", "last_seen"),
        update_on=("source", "record_key"),
        update=("raw", "reason", "message", "last_seen"),
        also=lambda q, new: {"released_at": null(), "resolution": null()},
        where=where,
    )


# A held-back enrolment is (re)opened in quarantine whatever a steward decided before.
_HOLD_ENROLLMENT = hold_statement()
_INSERT_HISTORY = RowInsert(
    table_of(ResidentSourceHistoryRow),
    ("resident_id", "source", "record_key", "source_updated_at", "values", "withdrawn_at"),
)

STORED = "__stored__"  # marker payload of a held-back record kept from the store, not from the source
WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class StoredEnrollment:
    """A held-back enrolment kept from the store (a marker payload), to restore when its person returns."""

    key: str
    payload: dict[str, Any]


def waiting_reason(ctx: BatchContext, person_key: str) -> str:
    """Return why a record waits for its person: held back in quarantine, or unknown to the store."""
    held = person_key in ctx.held_keys or any(h.key == person_key for h in ctx.held)
    return Reason.RESIDENT_HELD_BACK if held else Reason.UNKNOWN_RESIDENT


def hold_linked_enrollments(ctx: BatchContext, owners: dict[str, str], *, reason: str) -> None:
    """Quarantine the source's separate enrolments of residents that lost their last record of it.

    `owners` maps the person keys just dropped to their resident ids (read before the rows went).
    """
    if not owners:
        return
    store, source = ctx.store, ctx.source
    kept = {
        rid
        for (rid,) in store.rows_in(
            "SELECT resident_id FROM resident_source WHERE source = ? AND resident_id IN ({in})",
            set(owners.values()),
            before=(source,),
        )
    }
    key_of = {rid: key for key, rid in owners.items() if rid not in kept}
    if not key_of:
        return
    before: dict[str, str] = {}
    rows: list[tuple[Any, ...]] = []
    for eid, record_key, doc in store.rows_in(
        "SELECT id, record_key, doc FROM enrollment WHERE source = ? AND resident_id IN ({in})",
        key_of,
        before=(source,),
    ):
        body = orjson.loads(doc)
        person_key = key_of[body["resident_id"]]
        if record_key.startswith(person_key + "/"):
            continue  # a child of the person record itself: it returns with that record
        before[eid] = doc
        marker = orjson.dumps({STORED: body, "person_key": person_key}).decode()
        message = f"its person record {person_key} is not in the store ({reason}); kept until it returns"
        rows.append((source, record_key, marker, reason, message, ctx.now_ts, ctx.now_ts))
        ctx.dirty.add(body["resident_id"])
    if not rows:
        return
    store.insert(_HOLD_ENROLLMENT, rows)
    ctx.held_keys.update(r[1] for r in rows)
    store.run_in("DELETE FROM enrollment WHERE id IN ({in})", before)
    changes.append(store, changes.enrollment_changes(before, {}), now=ctx.now)


def restore_enrollments(ctx: BatchContext, items: list[tuple[dict[str, Any], StoredEnrollment]]) -> None:
    """Put held-back enrolments back when their person record is stored again; hold the rest anew."""
    store = ctx.store
    people = dict(
        store.rows_in(
            "SELECT record_key, resident_id FROM resident_source WHERE source = ? AND record_key IN ({in})",
            {item.payload["person_key"] for _, item in items},
            before=(ctx.source,),
        )
    )
    writes: list[tuple[Any, ...]] = []
    for _, item in items:
        person_key = item.payload["person_key"]
        rid = people.get(person_key)
        if rid is None:
            reason = waiting_reason(ctx, person_key)
            ctx.hold(item.key, item.payload, reason=reason, message=f"waiting for {person_key}", kind="")
            continue
        body = {**item.payload[STORED], "resident_id": rid}
        doc = orjson.dumps(body).decode()
        writes.append((body["id"], rid, body["kind"], body["status"], ctx.source, item.key, ctx.now_ts, doc))
        ctx.stored.append(item.key)
        ctx.dirty.add(rid)
    store.insert(UPSERT_ENROLLMENT, writes)
    changes.append(store, changes.enrollment_changes({}, {w[0]: w[7] for w in writes}), now=ctx.now)


def withdraw(ctx: BatchContext, seen: SeenKeys, *, kinds: set[str]) -> int:
    """Withdraw stored records of `kinds` that the pass did not see (the source no longer holds them)."""
    from connectors.sdk.sinks.entities import forget_services
    from connectors.sdk.sinks.people import forget_enrollments, forget_people

    store, source = ctx.store, ctx.source
    gone_people = seen.missing(store, "person", source=source) if "person" in kinds else []
    total = len(gone_people)
    if gone_people:
        keep_history(ctx, gone_people)
        forget_people(ctx, gone_people, linked_reason=Reason.UNKNOWN_RESIDENT)
    if "enrollment" in kinds:
        gone = _without_children(ctx, seen.missing(store, "enrollment", source=source))
        total += len(gone)
        if gone:
            forget_enrollments(ctx, gone)
    if "service" in kinds:
        gone = seen.missing(store, "service", source=source)
        total += len(gone)
        if gone:
            forget_services(ctx, gone)
    return total


def _without_children(ctx: BatchContext, keys: list[str]) -> list[str]:
    """Drop the keys of enrolments inside a person record still stored ('person/…': they go with it)."""
    parents = {k.rsplit("/", 1)[0] for k in keys if "/" in k}
    stored = {
        k
        for (k,) in ctx.store.rows_in(
            "SELECT record_key FROM resident_source WHERE source = ? AND record_key IN ({in})",
            parents,
            before=(ctx.source,),
        )
    }
    return [k for k in keys if not ("/" in k and k.rsplit("/", 1)[0] in stored)]


def keep_history(ctx: BatchContext, keys: list[str]) -> None:
    """Keep withdrawn person records' values as provenance history; log `record.withdrawn` per resident."""
    store, source = ctx.store, ctx.source
    rows = list(
        store.rows_in(
            'SELECT record_key, resident_id, source_updated_at, "values" FROM resident_source '
            "WHERE source = ? AND record_key IN ({in})",
            keys,
            before=(source,),
        )
    )
    store.insert(
        _INSERT_HISTORY,
        [(rid, source, key, updated, values, ctx.now_ts) for key, rid, updated, values in rows],
    )
    docs = dict(store.rows_in("SELECT id, doc FROM resident WHERE id IN ({in})", {r[1] for r in rows}))
    log: list[changes.Change] = []
    for rid in sorted(docs):
        doc = orjson.loads(docs[rid])
        region = doc.get("region_code")
        log.append(
            changes.Change(
                "resident",
                rid,
                "updated",
                (),
                event=changes.RECORD_WITHDRAWN,
                status=doc.get("status"),
                regions=(region,) if region else (),
                tags=tuple(doc.get("tags") or ()),
                resident_id=rid,
            )
        )
    changes.append(store, log, now=ctx.now)


def close_withdrawn(ctx: BatchContext, seen: SeenKeys) -> int:
    """Close the open quarantine rows of records the pass did not see under any kind; return how many."""
    gone = seen.unseen(ctx.store, ctx.held_keys)
    ctx.store.run_in(
        "UPDATE quarantine SET released_at = ?, resolution = ? "
        "WHERE source = ? AND released_at IS NULL AND record_key IN ({in})",
        gone,
        before=(ctx.now_ts, WITHDRAWN, ctx.source),
    )
    ctx.held_keys.difference_update(gone)
    return len(gone)
