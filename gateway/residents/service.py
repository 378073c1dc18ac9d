"""Provenance of a resident (多源数据比对): every source's value of every field the caller may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from connectors.sdk.linking.merge import FRESHEST, IDENTITY, PRECEDENCE
from gateway.policy.deps import Access
from gateway.residents import repository
from gateway.store import ReadStore
from schemas.time import as_utc


def rule_of(name: str, mark: dict[str, Any]) -> str:
    """Return the precedence rule that chose a served field's value (merge.py's policy, in words)."""
    if mark.get("authoritative") is False:
        return f"default: listed by {mark.get('source')}, which is not authoritative for {name}"
    if name in FRESHEST:
        return "freshest: the source updated most recently"
    order = PRECEDENCE.get(name, IDENTITY)
    return "precedence: " + " > ".join(order) + " (then the freshest other source)"


def _stamp(value: Any) -> str | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


async def provenance(db: ReadStore, access: Access, resident_id: str) -> dict[str, Any] | None:
    """Return the provenance document of a resident as `access` may see it, or None (outside its rows)."""
    raw = await repository.get_doc(db, resident_id)
    if raw is None:
        return None
    doc = orjson.loads(raw)
    plan = access.decision.row_plan(doc)
    if plan is None:
        return None
    masks = dict(plan.masked)
    served = doc.get("provenance") or {}
    names = access.state.village_names
    fields: dict[str, list[dict[str, Any]]] = {}
    for source, key, updated, values_json in await repository.source_rows(db, resident_id):
        values = orjson.loads(values_json)
        for name, value in values.items():
            if name not in served or value is None:
                continue  # not a served field (employment details, version, links)
            if name not in plan.clear and name not in masks:
                continue  # a field the caller may not see: not even that a source holds it
            mark = served[name]
            chosen = (mark.get("source"), mark.get("record_key")) == (source, key)
            shown = masks[name](value, {**doc, name: value}, names) if name in masks else value
            fields.setdefault(name, []).append(
                {
                    "value": shown,
                    "source": source,
                    "department": values.get("department"),
                    "record_key": key,
                    "updated_at": _stamp(updated),
                    "served": chosen,
                    "rule": rule_of(name, mark) if chosen else None,
                }
            )
    for name, mark in served.items():  # a served default no source holds (status of HR-only people)
        if name not in fields and (name in plan.clear or name in masks) and doc.get(name) is not None:
            value = doc[name]
            fields[name] = [
                {
                    "value": masks[name](value, doc, names) if name in masks else value,
                    "source": mark.get("source"),
                    "department": mark.get("department"),
                    "record_key": mark.get("record_key"),
                    "updated_at": mark.get("updated_at"),
                    "served": True,
                    "rule": rule_of(name, mark),
                }
            ]
    return {"id": resident_id, "fields": fields}
