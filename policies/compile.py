"""Compile validated documents into plain data (sets, tuples, dicts) so a decision is dict lookups."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from policies.loader import Documents, Issue, PolicyInvalid
from policies.masks import MASKS, Mask
from policies.models import CatalogueResource, Grant, Limit, MaskKind, Purpose, Sensitivity, SharingClass


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One catalogue field, flattened."""

    name: str
    owner: str
    sharing: SharingClass
    sensitivity: Sensitivity
    update_frequency: str
    mask_kind: MaskKind | None
    mask: Mask | None
    description: str


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """One catalogue resource, flattened; `open` resources need neither grant nor purpose."""

    name: str
    owner: str
    description: str
    fields: dict[str, FieldInfo]
    order: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]
    region_field: str | None
    tags_field: str | None
    provenance_field: str | None
    resident_field: str | None
    resident_region: bool  # rows lie in their resident's region (the row carries no region of its own)
    always: frozenset[str]  # public and unconditional: part of every grant of the resource
    open: bool


@dataclass(frozen=True, slots=True)
class CompiledGrant:
    """A grant with its field references expanded against the catalogue."""

    id: str
    origin: str
    client: str | None
    department: str | None
    resource: str
    clear: frozenset[str]
    masked: frozenset[str]
    regions: tuple[str, ...]
    purposes: frozenset[str]
    tags: tuple[str, ...]
    valid_from: dt.date | None
    valid_until: dt.date | None
    approval: str | None
    requires_consent: bool = False

    def valid_on(self, day: dt.date) -> bool:
        """Tell whether the grant is in force on `day`."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


@dataclass(slots=True)
class CompiledPolicy:
    """Everything a decision needs, as plain data, with the content hash of its documents."""

    version: str
    resources: dict[str, ResourceInfo]
    purposes: dict[str, Purpose]
    by_client: dict[str, list[CompiledGrant]] = field(default_factory=dict)
    by_department: dict[str, list[CompiledGrant]] = field(default_factory=dict)
    limits_by_client: dict[str, Limit] = field(default_factory=dict)
    limits_by_department: dict[str, Limit] = field(default_factory=dict)
    default_limit: Limit | None = None

    def add_grant(self, grant: CompiledGrant) -> None:
        """Index a grant by its subject."""
        if grant.client is not None:
            self.by_client.setdefault(grant.client, []).append(grant)
        else:
            assert grant.department is not None
            self.by_department.setdefault(grant.department, []).append(grant)

    def consent_bound(self, client_id: str, department: str | None) -> bool:
        """Tell whether any grant of a client needs a resident's consent (a village agent's client)."""
        grants = (
            *self.by_client.get(client_id, ()),
            *(self.by_department.get(department, ()) if department else ()),
        )
        return any(g.requires_consent for g in grants)

    def limit_for(self, client_id: str, department: str | None) -> Limit:
        """Return the rate limit of a client (its own, else its department's, else the default)."""
        found = self.limits_by_client.get(client_id) or (
            self.limits_by_department.get(department) if department else None
        )
        assert self.default_limit is not None
        return found or self.default_limit


def _resource(name: str, res: CatalogueResource) -> ResourceInfo:
    fields: dict[str, FieldInfo] = {}
    for fname, f in res.fields.items():
        kind = f.mask
        fields[fname] = FieldInfo(
            name=fname,
            owner=(f.owner or res.owner).value,
            sharing=f.sharing,
            sensitivity=f.sensitivity,
            update_frequency=(f.update_frequency or res.update_frequency).value,
            mask_kind=kind,
            mask=MASKS[kind] if kind else None,
            description=f.description,
        )
    always = frozenset(
        n
        for n, f in fields.items()
        if f.sharing is SharingClass.UNCONDITIONAL and f.sensitivity is Sensitivity.PUBLIC
    )
    return ResourceInfo(
        name=name,
        owner=res.owner.value,
        description=res.description,
        fields=fields,
        order=tuple(fields),
        groups={g: tuple(members) for g, members in res.groups.items()},
        region_field=res.region_field,
        tags_field=res.tags_field,
        provenance_field=res.provenance_field,
        resident_field=res.resident_field,
        resident_region=res.resident_region,
        always=always,
        open=len(always) == len(fields),
    )


def _catalogue_issues(docs: Documents, resources: dict[str, ResourceInfo]) -> list[Issue]:
    issues = []
    for name, res in resources.items():
        loc_base: tuple[str | int, ...] = ("resources", name)
        for g, members in res.groups.items():
            for i, m in enumerate(members):
                if m not in res.fields:
                    issues.append(
                        docs.issue("catalogue.yaml", (*loc_base, "groups", g, i), f"unknown field {m!r}")
                    )
        for attr in ("region_field", "tags_field", "provenance_field", "resident_field"):
            ref = getattr(res, attr)
            if ref is not None and ref not in res.fields:
                issues.append(docs.issue("catalogue.yaml", (*loc_base, attr), f"unknown field {ref!r}"))
        if res.resident_region and (res.resident_field is None or res.region_field is not None):
            message = "resident_region needs a resident_field and no region_field of its own"
            issues.append(docs.issue("catalogue.yaml", (*loc_base, "resident_region"), message))
    return issues


def expand(res: ResourceInfo, refs: list[str]) -> tuple[set[str], list[tuple[int, str]]]:
    """Expand `*`, `@group` and field names; return the fields and (index, message) of bad references."""
    out: set[str] = set()
    bad: list[tuple[int, str]] = []
    for i, ref in enumerate(refs):
        if ref == "*":
            out.update(res.order)
        elif ref.startswith("@"):
            if ref[1:] in res.groups:
                out.update(res.groups[ref[1:]])
            else:
                bad.append((i, f"unknown field group {ref!r} of {res.name}"))
        elif ref in res.fields:
            out.add(ref)
        else:
            bad.append((i, f"{res.name} has no field {ref!r}"))
    return out, bad


Problems = list[tuple[tuple[str | int, ...], str]]


def compile_grant(
    grant: Grant, resources: dict[str, ResourceInfo], purposes: dict[str, Purpose], *, origin: str
) -> tuple[CompiledGrant | None, Problems]:
    """Compile one grant; return it (or None) and (location, message) problems relative to the grant."""
    res = resources.get(grant.resource)
    if res is None:
        return None, [(("resource",), f"unknown resource {grant.resource!r}")]
    problems: Problems = []
    clear, bad = expand(res, list(grant.fields))
    problems += [(("fields", i), m) for i, m in bad]
    masked, bad = expand(res, list(grant.masked))
    problems += [(("masked", i), m) for i, m in bad]
    masked -= clear  # clear wins where both name a field
    problems += _reference_problems(grant, res, purposes)
    problems += _sharing_problems(grant, res, purposes)
    problems += _row_problems(grant, res)
    if problems:
        return None, problems
    compiled = CompiledGrant(
        id=grant.id,
        origin=origin,
        client=grant.client,
        department=grant.department.value if grant.department else None,
        resource=grant.resource,
        clear=frozenset(clear),
        masked=frozenset(masked),
        regions=tuple(grant.regions),
        purposes=frozenset(grant.purposes),
        tags=tuple(sorted(t.value for t in grant.rows.tags)),
        valid_from=grant.valid_from,
        valid_until=grant.valid_until,
        approval=grant.approval,
        requires_consent=grant.requires_consent,
    )
    return compiled, []


def _reference_problems(grant: Grant, res: ResourceInfo, purposes: dict[str, Purpose]) -> Problems:
    """Return masks the catalogue lacks and purposes nobody declared."""
    problems: Problems = []
    for i, ref in enumerate(grant.masked):
        if ref in res.fields and res.fields[ref].mask is None:
            problems.append((("masked", i), f"{res.name}.{ref} has no mask in the catalogue"))
    for i, p in enumerate(grant.purposes):
        if p not in purposes:
            problems.append((("purposes", i), f"unknown purpose {p!r}"))
    return problems


def _sharing_problems(grant: Grant, res: ResourceInfo, purposes: dict[str, Purpose]) -> Problems:
    """Return the explicitly named fields the grant may not give, by sharing class and sensitivity."""
    problems: Problems = []
    dept = grant.department.value if grant.department else None
    explicit = {r for r in (*grant.fields, *grant.masked) if r != "*" and not r.startswith("@")}
    sensitive_ok = any(purposes[p].sensitive for p in grant.purposes if p in purposes)
    for name in sorted(explicit):
        info = res.fields.get(name)
        if info is None or (dept is not None and dept == info.owner):
            continue
        # 政务数据共享条例: a 不予共享 item is never granted; a 有条件共享 item only on an approval.
        loc = ("fields",) if name in grant.fields else ("masked",)
        if info.sharing is SharingClass.NONE and dept is not None:
            problems.append(
                (loc, f"{res.name}.{name} is not shared (不予共享); only {info.owner} may see it")
            )
        if info.sharing is SharingClass.CONDITIONAL and grant.approval is None:
            problems.append(
                (loc, f"{res.name}.{name} is conditional (有条件共享): the grant needs `approval`")
            )
        if info.sensitivity is Sensitivity.SENSITIVE and not sensitive_ok:
            # PIPL Art. 28: sensitive personal information only for a specific, sufficient purpose.
            problems.append((loc, f"{res.name}.{name} is sensitive (PIPL Art. 28) and no purpose allows it"))
    return problems


def _row_problems(grant: Grant, res: ResourceInfo) -> Problems:
    """Return row conditions the resource cannot carry (tags, one resident under consent)."""
    problems: Problems = []
    if grant.rows.tags and res.tags_field is None:
        problems.append((("rows", "tags"), f"{res.name} has no tags to condition rows on"))
    if grant.requires_consent and res.resident_field is None and not res.open:
        # A consent names one resident; a resource whose rows name no resident cannot be narrowed to one.
        problems.append((("requires_consent",), f"{res.name} has no resident_field to narrow rows to"))
    return problems


def _alert_issues(docs: Documents, purposes: dict[str, Purpose], policy: CompiledPolicy) -> list[Issue]:
    """Check each early-warning rule: a unique id, a known purpose, a department that may read it."""
    issues, seen = [], set()
    for i, rule in enumerate(docs.alerts.rules):
        if rule.id in seen:
            issues.append(docs.issue("alerts.yaml", ("rules", i, "id"), f"duplicate rule id {rule.id!r}"))
        seen.add(rule.id)
        if rule.purpose not in purposes:
            message = f"unknown purpose {rule.purpose!r}; one of: {', '.join(sorted(purposes))}"
            issues.append(docs.issue("alerts.yaml", ("rules", i, "purpose"), message))
        elif not any(
            g.resource == "residents" and rule.purpose in g.purposes
            for g in policy.by_department.get(rule.department.value, ())
        ):
            department = rule.department.value
            message = f"{department} has no grant on residents for {rule.purpose!r}: nobody could read it"
            issues.append(docs.issue("alerts.yaml", ("rules", i, "purpose"), message))
    return issues


def compile_documents(docs: Documents) -> CompiledPolicy:
    """Compile validated documents, or raise PolicyInvalid naming file and line of each bad reference."""
    resources = {name: _resource(name, r) for name, r in docs.catalogue.resources.items()}
    issues = _catalogue_issues(docs, resources)
    purposes: dict[str, Purpose] = {}
    for i, p in enumerate(docs.purposes.purposes):
        if p.id in purposes:
            issues.append(docs.issue("purposes.yaml", ("purposes", i, "id"), f"duplicate purpose {p.id!r}"))
        purposes[p.id] = p
    policy = CompiledPolicy(version=docs.version, resources=resources, purposes=purposes)
    seen: set[str] = set()
    for i, grant in enumerate(docs.grants.grants):
        if grant.id in seen:
            issues.append(docs.issue("grants.yaml", ("grants", i, "id"), f"duplicate grant id {grant.id!r}"))
        seen.add(grant.id)
        compiled, problems = compile_grant(grant, resources, purposes, origin="grants.yaml")
        issues += [docs.issue("grants.yaml", ("grants", i, *loc), msg) for loc, msg in problems]
        if compiled is not None:
            policy.add_grant(compiled)
    issues += _alert_issues(docs, purposes, policy)
    limits = docs.rate_limits
    policy.default_limit = limits.default
    for limit in limits.limits:
        if limit.client:
            policy.limits_by_client[limit.client] = limit
        elif limit.department:
            policy.limits_by_department[limit.department.value] = limit
    if issues:
        raise PolicyInvalid(issues)
    return policy
