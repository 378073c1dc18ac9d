"""Provenance of a resident (多源数据比对): every source's value of every field the caller may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.api import FRESHEST, IDENTITY, PRECEDENCE
from gateway.policy.deps import Access
from gateway.residents import repository
from policies.decision import FieldPlan
from schemas.time import as_utc
from store.read import ReadStore


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


@dataclass(frozen=True, slots=True)
class _View:
    """What the provenance of one resident shows one caller: the served document, its plan and masks."""

    doc: dict[str, Any]
    plan: FieldPlan
    masks: dict[str, Any]
    served: dict[str, Any]
    names: Any

    def value(self, name: str, value: Any) -> Any:
        """Return a source's value as masked in the served document."""
        masks = self.masks
        return masks[name](value, {**self.doc, name: value}, self.names) if name in masks else value

    def shows(self, name: str) -> bool:
        """Tell whether the caller sees the field (in clear or masked)."""
        return name in self.plan.clear or name in self.masks


def _add(
    fields: dict[str, list[dict[str, Any]]],
    view: _View,
    row: tuple[str, str, Any, str],
    *,
    withdrawn: Any = None,
) -> None:
    """Add one source record's values (a withdrawn one as history: never served)."""
    source, key, updated, values_json = row
    values = orjson.loads(values_json)
    for name, value in values.items():
        if name not in view.served or value is None:
            continue  # not a served field (employment details, version, links)
        if not view.shows(name):
            continue  # a field the caller may not see: not even that a source holds it
        mark = view.served[name]
        chosen = withdrawn is None and (mark.get("source"), mark.get("record_key")) == (source, key)
        entry = {
            "value": view.value(name, value),
            "source": source,
            "department": values.get("department"),
            "record_key": key,
            "updated_at": _stamp(updated),
            "served": chosen,
            "rule": rule_of(name, mark) if chosen else None,
        }
        if withdrawn is not None:
            entry["withdrawn_at"] = _stamp(withdrawn)
        fields.setdefault(name, []).append(entry)


async def provenance(db: ReadStore, access: Access, resident_id: str) -> dict[str, Any] | None:
    """Return the provenance document of a resident as `access` may see it, or None (outside its rows)."""
    raw = await repository.get_doc(db, resident_id)
    if raw is None:
        return None
    doc = orjson.loads(raw)
    plan = access.decision.row_plan(doc)
    if plan is None:
        return None
    view = _View(doc, plan, dict(plan.masked), doc.get("provenance") or {}, access.state.village_names)
    fields: dict[str, list[dict[str, Any]]] = {}
    for row in await repository.source_rows(db, resident_id):
        _add(fields, view, row)
    for name, mark in view.served.items():  # a served default no source holds (status of HR-only people)
        if name not in fields and view.shows(name) and doc.get(name) is not None:
            fields[name] = [
                {
                    "value": view.value(name, doc[name]),
                    "source": mark.get("source"),
                    "department": mark.get("department"),
                    "record_key": mark.get("record_key"),
                    "updated_at": mark.get("updated_at"),
                    "served": True,
                    "rule": rule_of(name, mark),
                }
            ]
    # Records their sources no longer hold (withdrawn by a full sync): history, after the current values.
    for source, key, updated, values_json, withdrawn in await repository.history_rows(db, resident_id):
        _add(fields, view, (source, key, updated, values_json), withdrawn=withdrawn)
    return {"id": resident_id, "fields": fields}
