"""Which changes a client sees, and how: the read policy applied to change-log rows (feed and webhooks).

A change is shown only when the caller could read the record it is about, for the same purpose: the
row scopes of the resource's decision must reach the record's region and tags (an enrolment lies in its
resident's region, and also needs that resident to be readable), and the changed field names are cut to
the fields the caller is shown.
An event is shown only when the field it reveals is (a death is the `status` field).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.api import sources_of
from gateway.auth.scopes import Scope
from policies.decision import Decision, FieldPlan, Subject, allow_everything
from policies.engine import PolicyEngine
from schemas.regions import in_subtree
from schemas.time import as_utc

# Change-log resource -> (policy resource, scope needed to read it).
RESOURCES: dict[str, tuple[str, Scope]] = {
    "resident": ("residents", Scope.RESIDENTS_READ),
    "enrollment": ("enrollments", Scope.ENROLLMENTS_READ),
    "notice": ("notices", Scope.NOTICES_READ),
    # An early-warning item is read like its resident, by the department of the rule that raised it.
    "alert": ("residents", Scope.ALERTS_READ),
}
# The field an event reveals: shown only to callers who see one of these fields of the record.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "resident.deceased": ("status",),
    "resident.moved_out": ("status",),
    "resident.migrant_registered": ("tags", "employment_status"),
    "enrollment.started": ("status",),
    "enrollment.stopped": ("status",),
    "notice.published": (),
    "alert.raised": (),
    "record.withdrawn": (),  # names no field: where a value came from is provenance, shown to every reader
    "quarantine.resolved": (),
}


@dataclass(frozen=True, slots=True)
class LoggedChange:
    """One change-log row."""

    seq: int
    resource: str
    record_id: str
    change: str
    event: str | None
    fields: tuple[str, ...]
    status: str | None
    regions: tuple[str, ...]
    tags: tuple[str, ...] | None
    resident_id: str | None
    changed_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> LoggedChange:
        """Build from a row of the change log, columns in table order."""
        at = row[10]
        stamp = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
        return cls(
            seq=int(row[0]),
            resource=row[1],
            record_id=row[2],
            change=row[3],
            event=row[4],
            fields=tuple(orjson.loads(row[5])),
            status=row[6],
            regions=tuple(row[7].split(",")) if row[7] else (),
            tags=tuple(orjson.loads(row[8])) if row[8] is not None else None,
            resident_id=row[9],
            changed_at=as_utc(stamp),
        )


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a resident lies and their tags, as the row scopes test them."""

    region: str | None
    tags: tuple[str, ...]

    def doc(self) -> dict[str, Any]:
        """Return the minimal document a decision's row check reads."""
        return {"region_code": self.region, "tags": list(self.tags)}


def _shown(plan: FieldPlan) -> frozenset[str]:
    return plan.clear.union(name for name, _ in plan.masked)


class Viewer:
    """One client's view of the change log for one purpose: allowed decisions by change resource."""

    def __init__(
        self,
        decisions: Mapping[str, Decision],
        *,
        alert_rules: Collection[str] = (),
        quarantine_sources: Collection[str] = (),
    ) -> None:
        """Keep the allowed decisions by change-log resource, the alert rules and quarantines it reads."""
        self.decisions = {k: d for k, d in decisions.items() if d.allowed}
        self.alert_rules = frozenset(alert_rules)
        self.quarantine_sources = frozenset(quarantine_sources)

    def _plan(self, resource: str, place: Placement | None) -> FieldPlan | None:
        decision = self.decisions.get(resource)
        if decision is None:
            return None
        if decision.scopes is None:
            return decision.plans[0]
        # The region places rows that carry none (an enrolment lies where its resident does).
        region = place.region if place is not None else None
        return decision.row_plan(place.doc() if place is not None else {}, region=region)

    def show(self, change: LoggedChange, *, resident: Placement | None = None) -> dict[str, Any] | None:
        """Return the change as this viewer sees it, or None; `resident` places an enrolment's resident."""
        if change.resource == "alert":
            return self._show_alert(change)
        if change.resource == "quarantine":
            return self._show_quarantine(change)
        if change.resource == "resident":
            place = Placement(change.regions[0] if change.regions else None, change.tags or ())
            plan = self._plan("resident", place)
        elif change.resource == "enrollment":
            # An enrolment is shown only with a resident the viewer may read (not removed from its rows),
            # where the enrolment grant reaches that resident's region.
            if resident is None or self._plan("resident", resident) is None:
                return None
            plan = self._plan("enrollment", resident)
        else:
            plan = self._plan(change.resource, None)
        if plan is None:
            return None
        shown = _shown(plan)
        fields = [f for f in change.fields if f in shown]
        needs = EVENT_FIELDS.get(change.event or "", ())
        event = change.event if change.event and (not needs or any(f in shown for f in needs)) else None
        if not fields and event is None and change.change == "updated":
            return None  # nothing this viewer may know changed
        return _entry(
            change,
            event=event,
            fields=fields,
            status=change.status if "status" in shown else None,
            resident_id=change.resident_id if "resident_id" in shown else None,
        )

    def _show_alert(self, change: LoggedChange) -> dict[str, Any] | None:
        # The rule id is the entry's one `field` (gateway/alerts/evaluate.py): only its department, reading
        # under its purpose, sees the item, and only where it may read the resident.
        if not change.fields or change.fields[0] not in self.alert_rules:
            return None
        place = Placement(change.regions[0] if change.regions else None, change.tags or ())
        plan = self._plan("alert", place)
        if plan is None:
            return None
        resident_id = change.resident_id if "id" in _shown(plan) else None
        return _entry(change, event=change.event, fields=[], status=change.status, resident_id=resident_id)

    def _show_quarantine(self, change: LoggedChange) -> dict[str, Any] | None:
        # The source stands in the entry's one `field`: only readers of that source's quarantine (its own
        # department, quarantine:read) see a steward's decision; the decision is the entry's status.
        if not change.fields or change.fields[0] not in self.quarantine_sources:
            return None
        return _entry(change, event=change.event, fields=[], status=change.status, resident_id=None)


def quarantine_sources_for(department: str | None, scopes: Collection[str]) -> frozenset[str]:
    """Return the sources whose stewards' decisions a client sees: its department's, with quarantine:read."""
    if Scope.QUARANTINE_READ.value not in scopes or department is None:
        return frozenset()
    return frozenset(sources_of(department))


def alert_rules_for(engine: PolicyEngine, subject: Subject, purpose: str | None) -> frozenset[str]:
    """Return the ids of the early-warning rules whose items `subject` reads under `purpose`."""
    rules = engine.docs.alerts.rules
    return frozenset(r.id for r in rules if r.department.value == subject.department and r.purpose == purpose)


def in_region(change: LoggedChange, region: str, *, resident: Placement | None = None) -> bool:
    """Tell whether a change lies in a subscription's region (a notice: addressed to it, above or inside)."""
    if change.resource == "notice":
        return any(in_subtree(c, region) or in_subtree(region, c) for c in change.regions)
    code = change.regions[0] if change.regions else (resident.region if resident else None)
    return code is not None and in_subtree(code, region)


def decide_all(
    engine: PolicyEngine,
    subject: Subject,
    purpose: str | None,
    *,
    scopes: Collection[str],
    enabled: bool = True,
) -> dict[str, Decision]:
    """Return the decision for every change-log resource whose read scope the client holds."""
    out: dict[str, Decision] = {}
    for resource, (policy_resource, scope) in RESOURCES.items():
        if scope.value not in scopes:
            continue
        if enabled:
            out[resource] = engine.decide(subject, policy_resource, purpose)
        else:  # benchmarks only (LegalControls(policy=False), bench/apps.py): every row, every field
            info = engine.policy.resources[policy_resource]
            out[resource] = allow_everything(
                info, resource=policy_resource, purpose=purpose, reason="policy disabled"
            )
    return out


def _entry(
    change: LoggedChange,
    *,
    event: str | None,
    fields: list[str],
    status: str | None,
    resident_id: str | None,
) -> dict[str, Any]:
    """Return a feed entry of a logged change with what the viewer may know of it."""
    return {
        "seq": change.seq,
        "resource": change.resource,
        "id": change.record_id,
        "change": change.change,
        "event": event,
        "fields": fields,
        "status": status,
        "resident_id": resident_id,
        "changed_at": change.changed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
