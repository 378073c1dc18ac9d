"""Identity conflicts (重号): records sharing a citizen ID but naming another person, held for a steward."""

from __future__ import annotations

import datetime as dt

import orjson
from sqlalchemy import literal_column, null, or_

from connectors.sdk.linking.merge import Merged, SourceRow
from store.bulk import Store
from store.statements import RowInsert
from store.tables import table_of
from store.tables.records import QuarantineRow

_HOLD_CLASH = RowInsert(
    table_of(QuarantineRow),
    ("source", "record_key", "raw", "reason", "message", "first_seen", "last_seen", "resident_id"),
    update_on=("source", "record_key"),
    update=("raw", "reason", "message", "last_seen", "resident_id"),
    also=lambda q, new: {"released_at": null(), "resolution": null()},
    # A steward's decision (kept apart, dismissed) stands: the clash does not reopen it.
    where=lambda q, new: or_(
        q.c.resolution.is_(None),
        q.c.resolution.not_in([literal_column("'split'"), literal_column("'dismissed'")]),
    ),
)


def hold_conflicts(
    store: Store, merged: dict[str, Merged], rows: dict[str, list[SourceRow]], *, now: dt.datetime
) -> None:
    """Open an id_conflict quarantine row for each record clashing under a shared ID; close resolved ones.

    The rows stay stored (a correction or a deletion at either source resolves the conflict at the next
    refresh); quarantine shows them to the data steward, whose decision Build 3's API records.
    """
    clashing = {(r.source, r.record_key): a for m in merged.values() for r, a in m.conflicts}
    # Open conflicts are few: one indexed read of them all (ix_quarantine_open_reason), no key list.
    open_now = {
        (source, key)
        for source, key in store.rows(
            "SELECT source, record_key FROM quarantine WHERE released_at IS NULL AND reason = 'id_conflict'"
        )
    }
    if not clashing and not open_now:
        return
    owners = {(r.source, r.record_key): rid for rid, found in rows.items() for r in found}
    resolved = [(store.ts(now), s, k) for s, k in open_now if (s, k) in owners and (s, k) not in clashing]
    store.many(
        "UPDATE quarantine SET released_at = ?, resolution = 'released' "
        "WHERE source = ? AND record_key = ? AND reason = 'id_conflict' AND released_at IS NULL",
        resolved,
    )
    fresh = []
    for (source, key), anchor in clashing.items():
        if (source, key) in open_now:
            continue
        row = next(r for r in rows[owners[(source, key)]] if (r.source, r.record_key) == (source, key))
        marker = orjson.dumps(
            {"__stored__": row.values, "conflicts_with": f"{anchor.source}:{anchor.record_key}"}
        )
        message = (
            f"shares its citizen ID with {anchor.source} record {anchor.record_key}, whose name and birth "
            "date differ: two people under one number (重号)? not merged; a data steward decides"
        )
        fresh.append(
            (
                source,
                key,
                marker.decode(),
                "id_conflict",
                message,
                store.ts(now),
                store.ts(now),
                owners[(source, key)],
            )
        )
    store.insert(_HOLD_CLASH, fresh)


def steward_links(store: Store, merged: dict[str, Merged]) -> frozenset[tuple[str, str]]:
    """Return the clashing records a data steward linked to their resident (one query, only on a clash)."""
    keys = {r.record_key for m in merged.values() for r, _ in m.conflicts}
    if not keys:
        return frozenset()
    return frozenset(
        (source, key)
        for source, key in store.rows_in(
            "SELECT source, record_key FROM quarantine WHERE reason = 'id_conflict' "
            "AND resolution = 'linked' AND record_key IN ({in})",
            keys,
        )
    )
