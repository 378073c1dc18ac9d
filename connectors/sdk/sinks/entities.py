"""Records that stand alone: service items, notices, gazetteer regions (compared by their stored JSON)."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson

from connectors.sdk.sinks import BatchContext
from schemas.models import Notice, Region, Service
from schemas.time import as_utc
from store import changes
from store.statements import RowInsert
from store.tables import table_of
from store.tables.records import NoticeRegionRow, NoticeRow, RegionRow, ServiceRow

_UPSERT_SERVICE = RowInsert(
    table_of(ServiceRow),
    ("id", "department", "active", "updated_at", "doc"),
    update_on=("id",),
    update=("department", "active", "updated_at", "doc"),
)
_UPSERT_NOTICE = RowInsert(
    table_of(NoticeRow),
    ("id", "category", "audiences", "published_at", "expires_at", "updated_at", "doc"),
    update_on=("id",),
    update=("category", "audiences", "published_at", "expires_at", "updated_at", "doc"),
)
_INSERT_NOTICE_REGION = RowInsert(table_of(NoticeRegionRow), ("notice_id", "region_code"))
_UPSERT_REGION = RowInsert(
    table_of(RegionRow),
    ("code", "name", "level", "parent_code", "doc"),
    update_on=("code",),
    update=("name", "level", "parent_code", "doc"),
)

_Doc = TypeVar("_Doc", Service, Region)


def _changed(ctx: BatchContext, latest: dict[str, _Doc], *, select: str) -> list[tuple[str, _Doc, str]]:
    """Count items created, updated or unchanged against `select`'s (key, doc); return the changed."""
    docs = dict(ctx.store.rows_in(select, latest))
    out = []
    for k, item in latest.items():
        doc = item.model_dump_json()
        old = docs.get(k)
        if old == doc:
            ctx.unchanged += 1
            continue
        ctx.created += old is None
        ctx.updated += old is not None
        out.append((k, item, doc))
    return out


def write_services(ctx: BatchContext, items: list[tuple[dict[str, Any], Service]]) -> None:
    """Upsert service items; the id is '{source}:{code}'."""
    store = ctx.store
    latest = {svc.id: svc for _, svc in items}
    ctx.stored.extend(svc.code for svc in latest.values())
    writes = [
        (sid, svc.department.value, svc.active, store.ts(svc.updated_at or ctx.now), doc)
        for sid, svc, doc in _changed(ctx, latest, select="SELECT id, doc FROM service WHERE id IN ({in})")
    ]
    store.insert(_UPSERT_SERVICE, writes)


def forget_services(ctx: BatchContext, keys: list[str]) -> None:
    """Withdraw stored service items now held back."""
    ctx.store.run_in("DELETE FROM service WHERE id IN ({in})", [f"{ctx.source}:{k}" for k in keys])


def write_notices(ctx: BatchContext, items: list[tuple[dict[str, Any], Notice]]) -> None:
    """Upsert notices; an edit (same guid, newer pubDate) replaces the stored one, an older never does."""
    store = ctx.store
    latest: dict[str, Notice] = {}
    for _, notice in items:
        seen = latest.get(notice.id)
        if seen is None or notice.published_at >= seen.published_at:
            latest[notice.id] = notice
        ctx.stored.append(notice.id)
    ctx.superseded += len(items) - len(latest)  # older copies within the batch
    stored = {
        nid: (doc, as_utc(published))
        for nid, doc, published in store.rows_in(
            "SELECT id, doc, published_at FROM notice WHERE id IN ({in})", latest
        )
    }
    writes: list[tuple[Any, ...]] = []
    regions: list[tuple[str, str]] = []
    log: list[changes.Change] = []
    for nid, notice in latest.items():
        doc = notice.model_dump_json()
        old = stored.get(nid)
        if old is not None and old[0] == doc:
            ctx.unchanged += 1
            continue
        if old is not None and old[1] is not None and old[1] > notice.published_at:
            ctx.superseded += 1  # an older version than the one served
            continue
        log.append(_notice_change(notice, orjson.loads(old[0]) if old is not None else None, doc))
        ctx.created += old is None
        ctx.updated += old is not None
        writes.append(
            (
                nid,
                notice.category.value,
                "," + ",".join(a.value for a in notice.audiences) + ",",
                store.ts(notice.published_at),
                store.ts(notice.expires_at),
                ctx.now_ts,
                doc,
            )
        )
        regions.extend((nid, code) for code in dict.fromkeys(notice.regions))
    store.insert(_UPSERT_NOTICE, writes)
    store.many("DELETE FROM notice_region WHERE notice_id = ?", [(w[0],) for w in writes])
    store.insert(_INSERT_NOTICE_REGION, regions)
    changes.append(store, log, now=ctx.now)


def _notice_change(notice: Notice, old: dict[str, Any] | None, doc: str) -> changes.Change:
    """Return the change of one notice: published when new, else the fields an edit changed."""
    return changes.Change(
        "notice",
        notice.id,
        "created" if old is None else "updated",
        changes.changed_fields(old, orjson.loads(doc)),
        event=changes.NOTICE_PUBLISHED if old is None else None,
        regions=tuple(dict.fromkeys(notice.regions)),
    )


def forget_notices(ctx: BatchContext, keys: list[str]) -> None:
    """Withdraw stored notices now held back (a sanitised body that no longer parses is not served)."""
    gone = [nid for (nid,) in ctx.store.rows_in("SELECT id FROM notice WHERE id IN ({in})", keys)]
    ctx.store.run_in("DELETE FROM notice_region WHERE notice_id IN ({in})", keys)
    ctx.store.run_in("DELETE FROM notice WHERE id IN ({in})", keys)
    changes.append(ctx.store, [changes.Change("notice", nid, "removed", ()) for nid in gone], now=ctx.now)


def write_regions(ctx: BatchContext, items: list[tuple[dict[str, Any], Region]]) -> None:
    """Upsert gazetteer regions (the doc is schemas.models.Region JSON)."""
    store = ctx.store
    latest = {region.code: region for _, region in items}
    ctx.stored.extend(latest)
    changed = _changed(ctx, latest, select="SELECT code, doc FROM region WHERE code IN ({in})")
    writes = [
        (code, region.name, region.level.value, region.parent_code, doc) for code, region, doc in changed
    ]
    store.insert(_UPSERT_REGION, writes)
