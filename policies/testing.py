"""Run YAML decision tests: given client, purpose, resource and records, expect rows and fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policies.alerts import Facts, evaluate_all
from policies.assisted import narrow
from policies.decision import Subject
from policies.engine import PolicyEngine
from policies.loader import line_of


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Client(_Strict):
    """The client of a case, as the registry would describe it."""

    id: str
    department: str | None = None
    region: str | None = None


class Expect(_Strict):
    """What a case expects."""

    decision: str = Field(pattern="^(allow|deny)$")
    rows: list[str] | None = None
    fields: dict[str, dict[str, Any]] = Field(default_factory=dict, description="record id -> field -> value")
    hidden: list[str] = Field(default_factory=list, description="Fields absent from every row.")
    reason_contains: str | None = None


class Case(_Strict):
    """One decision test."""

    name: str
    client: Client
    purpose: str | None = None
    resource: str
    today: dt.date | None = None
    on_behalf_of: str | None = Field(
        default=None, description="Assisted access (代办): acting for this resident under a valid consent."
    )
    records: list[dict[str, Any]] = Field(default_factory=list)
    resident_regions: dict[str, str] = Field(
        default_factory=dict,
        description="resident id -> region: where the rows of a `resident_region` resource (enrolments) lie.",
    )
    expect: Expect


class Suite(_Strict):
    """A file of cases."""

    cases: list[Case]


class AlertExpect(_Strict):
    """Which rules a resident's facts raise, and which they must not."""

    raised: list[str] = Field(default_factory=list)
    not_raised: list[str] = Field(default_factory=list)


class AlertCase(_Strict):
    """One early-warning test: a resident with related records, on a day."""

    name: str
    today: dt.date = dt.date(2026, 11, 1)
    resident: dict[str, Any]
    enrollments: list[dict[str, Any]] = Field(default_factory=list)
    migration: dict[str, Any] | None = None
    household: list[dict[str, Any]] = Field(default_factory=list, description="The other members.")
    expect: AlertExpect


class AlertSuite(_Strict):
    """A file of early-warning cases (alerts.yaml rules)."""

    alert_cases: list[AlertCase]


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed case with its file and line."""

    file: str
    line: int
    case: str
    message: str

    def __str__(self) -> str:
        """Render as `file:line: case: message`."""
        return f"{self.file}:{self.line}: {self.case}: {self.message}"


def _run_case(engine: PolicyEngine, case: Case) -> list[str]:
    subject = Subject(case.client.id, case.client.department, case.client.region)
    assisted = case.on_behalf_of is not None
    day = case.today or dt.date(2026, 11, 1)
    d = engine.decide(subject, case.resource, case.purpose, today=day, assisted=assisted)
    if case.on_behalf_of is not None:
        d = narrow(d, case.on_behalf_of)  # the consent itself is checked by the gateway, not here
    problems: list[str] = []
    got = "allow" if d.allowed else "deny"
    if got != case.expect.decision:
        return [f"expected {case.expect.decision}, got {got}: {d.reason}"]
    if case.expect.reason_contains and case.expect.reason_contains not in d.reason:
        problems.append(f"reason {d.reason!r} lacks {case.expect.reason_contains!r}")
    if not d.allowed:
        return problems
    shown = {}
    about = d.info.resident_field if d.info is not None else None
    for rec in case.records:
        region = case.resident_regions.get(str(rec.get(about))) if about else None
        out = d.project_doc(dict(rec), region=region)
        if out is not None:
            shown[str(rec.get("id"))] = out
    if case.expect.rows is not None and sorted(shown) != sorted(case.expect.rows):
        problems.append(f"rows {sorted(shown)} != expected {sorted(case.expect.rows)}")
    for rid, want in case.expect.fields.items():
        have = shown.get(rid)
        if have is None:
            problems.append(f"record {rid} not shown")
            continue
        for name, value in want.items():
            if have.get(name, "<absent>") != value:
                problems.append(f"{rid}.{name} = {have.get(name, '<absent>')!r}, expected {value!r}")
    for name in case.expect.hidden:
        if any(name in row for row in shown.values()):
            problems.append(f"field {name} shown, expected hidden")
    return problems


def _run_alert_case(engine: PolicyEngine, case: AlertCase) -> list[str]:
    rules = engine.docs.alerts.rules
    known = {r.id for r in rules}
    unknown = sorted({*case.expect.raised, *case.expect.not_raised} - known)
    if unknown:
        return [f"no rule {', '.join(unknown)} in alerts.yaml"]
    facts = Facts(case.resident, case.enrollments, case.migration, case.household)
    got = {hit.rule.id for hit in evaluate_all(rules, facts, today=case.today)}
    problems = [f"rule {r} not raised" for r in case.expect.raised if r not in got]
    return problems + [f"rule {r} raised, expected not" for r in case.expect.not_raised if r in got]


def _run_suite(
    engine: PolicyEngine,
    path: Path,
    data: Any,
    node: yaml.Node | None,
    *,
    model: type[Suite] | type[AlertSuite],
    key: str,
    run_case: Callable[[PolicyEngine, Any], list[str]],
) -> tuple[int, list[Failure]]:
    """Validate a file as `model` and run each case under `key` with `run_case`."""
    try:
        suite = model.model_validate(data)
    except ValidationError as exc:
        return 0, [
            Failure(path.name, line_of(node, tuple(e["loc"])), "(file)", e["msg"]) for e in exc.errors()
        ]
    cases = getattr(suite, key)
    failures = []
    for i, case in enumerate(cases):
        for message in run_case(engine, case):
            failures.append(Failure(path.name, line_of(node, (key, i)), case.name, message))
    return len(cases), failures


def run_file(engine: PolicyEngine, path: Path) -> tuple[int, list[Failure]]:
    """Run every case of one file; return the number of cases and the failures."""
    text = path.read_text(encoding="utf-8")
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    data = yaml.safe_load(text)
    if isinstance(data, dict) and "alert_cases" in data:
        return _run_suite(
            engine, path, data, node, model=AlertSuite, key="alert_cases", run_case=_run_alert_case
        )
    return _run_suite(engine, path, data, node, model=Suite, key="cases", run_case=_run_case)


def run_paths(engine: PolicyEngine, paths: list[Path]) -> tuple[int, list[Failure]]:
    """Run test files (directories: every *.yaml inside)."""
    total, failures = 0, []
    for p in paths:
        files = sorted(p.glob("*.yaml")) if p.is_dir() else [p]
        for f in files:
            n, fails = run_file(engine, f)
            total += n
            failures += fails
    return total, failures
