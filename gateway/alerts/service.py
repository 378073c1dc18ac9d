"""The early-warning worklist: a department's items read under the policy, closed with an outcome."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alerts import repository
from gateway.errors import Conflict, NotFound
from gateway.policy.deps import Access
from policies.alerts import AlertRule


def _rules(access: Access) -> dict[str, AlertRule]:
    return {r.id: r for r in access.state.engine.docs.alerts.rules}


def _where(access: Access) -> dict[str, Any]:
    """Return the worklist a caller reads: its department's items under the request's purpose, its rows."""
    subject = access.subject
    return {
        "department": (subject.department if subject else None) or "",
        "purpose": access.decision.purpose or "",
        "scopes": access.scopes,
    }


def view(item: dict[str, Any], doc: str, *, access: Access, rules: dict[str, AlertRule]) -> dict[str, Any]:
    """Return an item as the caller sees it: the rule's texts and the resident projected by its grant."""
    rule = rules.get(item["rule_id"])
    return {
        "id": item["id"],
        "rule": item["rule_id"],
        "title": rule.name if rule else item["rule_id"],
        "basis": rule.basis if rule else "",
        "action": rule.action if rule else "",
        "department": item["department"],
        "purpose": item["purpose"],
        "detail": item["detail"],
        "resident_id": item["resident_id"],
        "resident": access.project_dict(orjson.loads(doc)) or {},
        "state": item["state"],
        "raised_at": item["raised_at"],
        "closed_at": item["closed_at"],
        "outcome": item["outcome"],
        "note": item["note"],
        "closed_by": item["closed_by"],
    }


async def page(
    engine: AsyncEngine,
    access: Access,
    *,
    region: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Return a page of the caller's worklist, and the key to continue from; audited with its residents."""
    rows, last = await repository.page(engine, **_where(access), region=region, after=after, limit=limit)
    rules = _rules(access)
    items = [view(item, doc, access=access, rules=rules) for item, doc in rows]
    await access.disclose(
        "alert", [*(i["id"] for i in items), *dict.fromkeys(i["resident_id"] for i in items)]
    )
    return items, last


async def found(engine: AsyncEngine, access: Access, alert_id: str) -> dict[str, Any]:
    """Return one item of the caller's worklist (audited), or raise NotFound."""
    got = await repository.get(engine, alert_id, **_where(access))
    if got is None:
        # Another department's item, or a resident outside the caller's rows, answers like none at all.
        raise NotFound(f"no alert {alert_id}")
    item = view(*got, access=access, rules=_rules(access))
    await access.disclose("alert", [item["id"], item["resident_id"]])
    return item


async def close(
    engine: AsyncEngine, access: Access, alert_id: str, *, outcome: str, note: str, by: str | None
) -> dict[str, Any]:
    """Close an item of the caller's worklist with its outcome; return it."""
    await found(engine, access, alert_id)
    client = access.subject.client_id if access.subject else ""
    if not await repository.close(engine, alert_id, outcome=outcome, note=note, client_id=client, by=by):
        raise Conflict(f"alert {alert_id} is already closed")
    access.record.record_ids.clear()  # disclosed once, not once per read
    return await found(engine, access, alert_id)
