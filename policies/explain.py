"""Explain a decision: which grant allowed which field, which rule hid or masked every other one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from policies.decision import EMPTY_NAMES, Decision


def explain(
    decision: Decision, *, record: Mapping[str, Any] | None = None, names: Mapping[str, str] = EMPTY_NAMES
) -> dict[str, Any]:
    """Return a JSON-ready explanation of `decision`, and of one record's row check when given."""
    out: dict[str, Any] = {
        "resource": decision.resource,
        "purpose": decision.purpose,
        "decision": "allow" if decision.allowed else "deny",
        "reason": decision.reason,
        "policy_version": decision.policy_version,
        "grants": list(decision.grants),
        "rows": _rows(decision),
        "fields": [
            {"field": r.field, "outcome": r.outcome, "grant": r.grant, "rule": r.rule} for r in decision.rules
        ],
    }
    if record is not None and decision.allowed:
        out["record"] = _record(decision, record)
    return out


def _record(decision: Decision, record: Mapping[str, Any]) -> dict[str, Any]:
    """Say whether one record is reached and how each field would be shown: outcomes, never values."""
    plan = decision.row_plan(record)
    masked = dict(plan.masked) if plan is not None else {}
    why = {r.field: (r.grant, r.rule) for r in decision.rules}
    fields = []
    for name in decision.info.order if decision.info is not None else ():
        if plan is None:
            outcome = "hidden"
        elif plan.everything or name in plan.clear:
            outcome = "clear"
        else:
            outcome = "masked" if name in masked else "hidden"
        grant, rule = why.get(name, (None, "no grant names this field"))
        if plan is None:
            grant, rule = None, "the record is outside every granted region and row condition"
        fields.append({"field": name, "outcome": outcome, "grant": grant, "rule": rule})
    return {
        "id": record.get("id"),
        "visible": plan is not None,
        "why": "inside the grant's rows"
        if plan is not None
        else "outside every granted region and row condition",
        "fields": fields,
    }


def _rows(decision: Decision) -> list[dict[str, Any]] | str:
    if not decision.allowed:
        return "none"
    if decision.scopes is None:
        return "all"
    info = decision.info
    # A row carrying no region (an enrolment) is placed by the resident its `resident_field` names.
    placed = {"region_of": info.resident_field} if info is not None and info.resident_region else {}
    return [
        {
            "region_prefixes": list(s.prefixes) if s.prefixes is not None else "all",
            "tags": list(s.tags),
            **placed,
        }
        for s in decision.scopes
    ]


def render_text(explained: Mapping[str, Any]) -> str:
    """Render an explanation for a terminal."""
    lines = [
        f"{explained['decision'].upper()} {explained['resource']} for purpose {explained['purpose']}"
        f" (policy {explained['policy_version']})",
        f"  reason: {explained['reason']}",
        f"  rows:   {orjson.dumps(explained['rows']).decode()}",
    ]
    for f in explained["fields"]:
        lines.append(f"  {f['outcome']:<7} {f['field']:<18} {f['rule']}")
    if "record" in explained:
        rec = explained["record"]
        lines.append(f"  record {rec['id']}: {'visible' if rec['visible'] else 'hidden'} ({rec['why']})")
        for f in rec["fields"]:
            lines.append(f"    {f['outcome']:<7} {f['field']}")
    return "\n".join(lines)
