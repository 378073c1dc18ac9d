"""Decide what a client may see of a resource for a purpose: rows (as SQL-ready scopes) and fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from policies.compile import CompiledGrant, CompiledPolicy, FieldInfo, ResourceInfo
from policies.masks import Mask
from policies.models import Sensitivity, SharingClass
from policies.projection import CompiledPlan, DecodeErrors, RowKeys
from schemas.regions import region_prefix

EMPTY_NAMES: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Subject:
    """Who asks: the policy's view of an authenticated principal."""

    client_id: str
    department: str | None = None
    region_code: str | None = None


@dataclass(frozen=True, slots=True)
class RowScope:
    """Rows one grant reaches: region subtrees (None: everywhere), tags every row must carry, and under
    assisted access (代办) the one resident the rows must be about."""

    prefixes: tuple[str, ...] | None
    tags: tuple[str, ...] = ()
    resident: str | None = None

    @property
    def unplaced(self) -> bool:
        """Tell whether rows without a region are reached: the store is one county, so a row no village
        holds is held at county level, and only county-wide (or wider) grants reach it."""
        return self.prefixes is not None and any(len(p) <= 6 for p in self.prefixes)

    def matches(self, region: str | None, tags: Any, about: tuple[str, ...] = ()) -> bool:
        """Tell whether a row with this region and these tags, about these residents, is inside the scope."""
        if self.resident is not None and self.resident not in about:
            return False
        if self.prefixes is not None and not (region.startswith(self.prefixes) if region else self.unplaced):
            return False
        return not self.tags or (isinstance(tags, list) and all(t in tags for t in self.tags))


def residents_of(value: Any) -> tuple[str, ...]:
    """Return the resident ids a `resident_field` value names (an id, or objects with `resident_id`)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(
            x if isinstance(x, str) else str(x.get("resident_id"))
            for x in value
            if isinstance(x, str) or (isinstance(x, dict) and x.get("resident_id"))
        )
    return ()


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """Fields shown of a row: in clear, masked (with their mask), or (implicitly) hidden."""

    clear: frozenset[str]
    masked: tuple[tuple[str, Mask], ...]
    everything: bool  # every catalogue field in clear: skip parsing entirely

    def apply(self, doc: dict[str, Any], res: ResourceInfo, names: Mapping[str, str]) -> dict[str, Any]:
        """Return the projected, masked document."""
        out = {k: v for k, v in doc.items() if k in self.clear}
        for name, mask in self.masked:
            if name in doc:
                out[name] = mask(doc[name], doc, names)
        prov = res.provenance_field
        if prov and prov in out and isinstance(out[prov], dict):
            # Provenance of a hidden field would reveal that it exists and where it lives: drop it.
            shown = self.clear.union(n for n, _ in self.masked)
            out[prov] = {k: v for k, v in out[prov].items() if k in shown}
        return out


@dataclass(frozen=True, slots=True)
class FieldRule:
    """Why one field is shown, masked or hidden (for explain and the RequestRecord)."""

    field: str
    outcome: str  # clear | masked | hidden
    grant: str | None
    rule: str


@dataclass(slots=True, kw_only=True)
class Decision:
    """The outcome for (client, resource, purpose): rows, fields, and why; cached per policy generation."""

    allowed: bool
    reason: str
    resource: str
    purpose: str | None
    policy_version: str
    info: ResourceInfo | None = None
    scopes: tuple[RowScope, ...] | None = None  # None: every row
    plans: tuple[FieldPlan, ...] = ()
    grants: tuple[str, ...] = ()
    fields_disclosed: tuple[str, ...] = ()
    fields_masked: tuple[str, ...] = ()
    rules: tuple[FieldRule, ...] = ()
    missing: str | None = None  # deny kind: purpose-required | grant-missing | consent-required
    _combined: dict[tuple[int, ...], FieldPlan | None] = field(default_factory=dict)
    # Plans compiled for stored JSON, and the row-check decoder: built on first use, kept with the
    # decision (decisions are cached per policy generation, so each plan compiles once).
    _compiled: dict[FieldPlan, CompiledPlan] = field(default_factory=dict)
    _keys: RowKeys | None = None

    @property
    def passthrough(self) -> bool:
        """Tell whether stored documents are served unchanged (one plan showing everything, no row check)."""
        return len(self.plans) == 1 and self.plans[0].everything

    def row_plan(self, doc: Mapping[str, Any], *, region: str | None = None) -> FieldPlan | None:
        """Return the plan for a row, or None when no grant's scope reaches it; `region` places a row
        of a `resident_region` resource (its resident's region: the row itself carries none)."""
        if self.scopes is None:
            return self.plans[0]
        assert self.info is not None
        if self.info.region_field:
            region = doc.get(self.info.region_field)
        tags = doc.get(self.info.tags_field) if self.info.tags_field else None
        field_ = self.info.resident_field
        about = residents_of(doc.get(field_)) if field_ and self.scopes[0].resident is not None else ()
        hit = tuple(i for i, s in enumerate(self.scopes) if s.matches(region, tags, about))
        if len(hit) == 1:
            return self.plans[hit[0]]
        if hit not in self._combined:
            self._combined[hit] = _union([self.plans[i] for i in hit]) if hit else None
        return self._combined[hit]

    def project_doc(
        self, doc: dict[str, Any], names: Mapping[str, str] = EMPTY_NAMES, *, region: str | None = None
    ) -> dict[str, Any] | None:
        """Project one parsed document, or None when it lies outside every scope."""
        plan = self.row_plan(doc, region=region)
        if plan is None:
            return None
        assert self.info is not None
        return doc if plan.everything else plan.apply(doc, self.info, names)

    def project(
        self, raw: str | bytes, names: Mapping[str, str] = EMPTY_NAMES, *, region: str | None = None
    ) -> str | bytes | None:
        """Project one stored JSON document; None when outside every scope (callers answer 404)."""
        if self.passthrough and self.scopes is None:
            return raw
        assert self.info is not None
        try:
            keys = self._row_keys(self.info).read(raw) if self.scopes is not None else None
        except DecodeErrors:
            # Not an object: let the parser say so, as before.
            return self._project_parsed(raw, names, region=region)
        plan = self.plans[0] if keys is None else self.row_plan(keys, region=region)
        if plan is None:
            return None
        if self.passthrough:
            return raw
        if plan.everything:
            return orjson.dumps(orjson.loads(raw))
        compiled = self._compiled.get(plan)
        if compiled is None:
            compiled = self._compiled[plan] = CompiledPlan(plan.clear, plan.masked, self.info)
        out = compiled.project(raw, keys, names)
        return out if out is not None else orjson.dumps(plan.apply(orjson.loads(raw), self.info, names))

    def _row_keys(self, info: ResourceInfo) -> RowKeys:
        if self._keys is None:
            self._keys = RowKeys(info)
        return self._keys

    def _project_parsed(
        self, raw: str | bytes, names: Mapping[str, str], *, region: str | None = None
    ) -> str | bytes | None:
        """Project by parsing the whole document (what the compiled plans must agree with)."""
        out = self.project_doc(orjson.loads(raw), names, region=region)
        if out is None:
            return None
        return raw if self.passthrough else orjson.dumps(out)


def _union(plans: list[FieldPlan]) -> FieldPlan:
    clear = frozenset().union(*(p.clear for p in plans))
    masked: dict[str, Mask] = {}
    for p in plans:
        for name, mask in p.masked:
            if name not in clear:
                masked[name] = mask
    return FieldPlan(clear, tuple(masked.items()), all(p.everything for p in plans) or False)


def deny(
    policy: CompiledPolicy, *, resource: str, purpose: str | None, reason: str, missing: str
) -> Decision:
    """Return a refusal naming what is missing."""
    return Decision(
        allowed=False,
        reason=reason,
        resource=resource,
        purpose=purpose,
        policy_version=policy.version,
        missing=missing,
    )


def allow_everything(info: ResourceInfo, *, resource: str, purpose: str | None, reason: str) -> Decision:
    """Return a decision showing every row and field (benchmarks' LegalControls(policy=False))."""
    return Decision(
        allowed=True,
        reason=reason,
        resource=resource,
        purpose=purpose,
        policy_version="off",
        info=info,
        plans=(FieldPlan(frozenset(info.order), (), True),),
    )


def _scope(grant: CompiledGrant, subject: Subject, res: ResourceInfo) -> RowScope | None:
    if res.region_field is None and not res.resident_region:
        return RowScope(None, grant.tags)
    prefixes: set[str] = set()
    for code in grant.regions:
        if code == "client":
            if subject.region_code is None:
                continue  # a client without a region reaches no rows through `client`
            code = subject.region_code
        prefixes.add(region_prefix(code))
    if "" in prefixes:
        return RowScope(None, grant.tags)
    if not prefixes:
        return None
    # Drop prefixes inside another one: a county subtree already holds its townships.
    kept = tuple(sorted(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)))
    return RowScope(kept, grant.tags)


_UNCONDITIONAL = "public and shared unconditionally (无条件共享)"
_NO_APPROVAL = "conditional (有条件共享) and no approved request"


def _field_rule(
    name: str,
    info: FieldInfo,
    *,
    grants: list[CompiledGrant],
    department: str | None,
    purpose: str,
    sensitive_ok: bool,
) -> FieldRule:
    """Return whether one (non-public) field is shown in clear, masked or hidden, and why."""
    own = department is not None and department == info.owner
    # For a conditional field only a grant carrying an approval counts (政务数据共享条例).
    conditional = info.sharing is SharingClass.CONDITIONAL and not own
    usable = [g for g in grants if g.approval] if conditional else grants
    by_clear = next((g for g in usable if name in g.clear), None)
    by_mask = next((g for g in usable if name in g.masked), None)
    grant = by_clear or by_mask
    if grant is None:
        if conditional and any(name in g.clear or name in g.masked for g in grants):
            return FieldRule(name, "hidden", None, _NO_APPROVAL)
        return FieldRule(name, "hidden", None, "no grant names this field (PIPL Art. 6 minimum necessity)")
    if own:
        # The owning department sees its own data as it holds it (PIPL Art. 34: its statutory duties).
        return FieldRule(name, "clear", grant.id, f"owned by {info.owner}, the caller's department")
    if info.sharing is SharingClass.NONE:
        return FieldRule(name, "hidden", None, "not shared (不予共享) outside " + info.owner)
    if info.sharing is SharingClass.CONDITIONAL and grant.approval is None:
        return FieldRule(name, "hidden", None, _NO_APPROVAL)
    if info.sensitivity is Sensitivity.SENSITIVE and not sensitive_ok:
        reason = f"sensitive (PIPL Art. 28); purpose {purpose} does not allow it"
        return FieldRule(name, "hidden", None, reason)
    if by_clear is not None:
        return FieldRule(name, "clear", by_clear.id, f"granted in clear by {by_clear.id}")
    assert by_mask is not None
    return FieldRule(name, "masked", by_mask.id, f"granted masked ({info.mask_kind}) by {by_mask.id}")


def _field_plan(
    policy: CompiledPolicy, res: ResourceInfo, grants: list[CompiledGrant], subject: Subject, purpose: str
) -> tuple[FieldPlan, list[FieldRule]]:
    sensitive_ok = policy.purposes[purpose].sensitive
    clear: set[str] = set()
    masked: dict[str, Mask] = {}
    rules: list[FieldRule] = []
    for name in res.order:
        info = res.fields[name]
        if name in res.always:
            rule = FieldRule(name, "clear", None, _UNCONDITIONAL)
        else:
            rule = _field_rule(
                name,
                info,
                grants=grants,
                department=subject.department,
                purpose=purpose,
                sensitive_ok=sensitive_ok,
            )
        rules.append(rule)
        if rule.outcome == "clear":
            clear.add(name)
        elif rule.outcome == "masked":
            assert info.mask is not None
            masked[name] = info.mask
    everything = len(clear) == len(res.fields)
    return FieldPlan(frozenset(clear), tuple(masked.items()), everything), rules


def decide(
    policy: CompiledPolicy,
    subject: Subject,
    resource: str,
    purpose: str | None,
    *,
    today: dt.date,
    extra: Mapping[str, list[CompiledGrant]] | None = None,
    assisted: bool = False,
) -> Decision:
    """Decide rows and fields of `resource` for `subject` and `purpose` on `today`.

    `assisted`: the request acts for one resident under a consent already checked by the caller; only
    then do grants with `requires_consent` count (narrow the result to the resident with `narrow`).
    """
    res = policy.resources.get(resource)
    if res is None:
        reason = f"{resource} is not in the sharing catalogue"
        return deny(policy, resource=resource, purpose=purpose, reason=reason, missing="grant-missing")
    if res.open:
        return _open(policy, res, resource=resource, purpose=purpose)
    if not purpose:
        reason = f"{resource} holds personal data: state a purpose in X-Purpose (PIPL Art. 6)"
        return deny(policy, resource=resource, purpose=None, reason=reason, missing="purpose-required")
    pool = _pool(policy, subject, resource=resource, today=today, extra=extra)
    matching = _matching(policy, subject, resource=resource, purpose=purpose, pool=pool, assisted=assisted)
    if isinstance(matching, Decision):
        return matching
    # Grants reaching the same rows share one plan; different row scopes get one plan each.
    groups: dict[RowScope, list[CompiledGrant]] = {}
    for g in matching:
        scope = _scope(g, subject, res)
        if scope is not None:
            groups.setdefault(scope, []).append(g)
    if not groups:
        reason = f"client {subject.client_id} has no region for its grants"
        return deny(policy, resource=resource, purpose=purpose, reason=reason, missing="grant-missing")
    return _allow(
        policy, res, subject=subject, purpose=purpose, resource=resource, groups=groups, matching=matching
    )


def _open(policy: CompiledPolicy, res: ResourceInfo, *, resource: str, purpose: str | None) -> Decision:
    """Return the decision for open data: every row, every field in clear."""
    return Decision(
        allowed=True,
        reason="open data: every field is public and shared unconditionally",
        resource=resource,
        purpose=purpose,
        policy_version=policy.version,
        info=res,
        plans=(FieldPlan(frozenset(res.order), (), True),),
        fields_disclosed=res.order,
        rules=tuple(FieldRule(n, "clear", None, _UNCONDITIONAL) for n in res.order),
    )


def _pool(
    policy: CompiledPolicy,
    subject: Subject,
    *,
    resource: str,
    today: dt.date,
    extra: Mapping[str, list[CompiledGrant]] | None,
) -> list[CompiledGrant]:
    """Return the grants in force on `today` that give this client or its department `resource`."""
    held = (
        *policy.by_client.get(subject.client_id, ()),
        *(policy.by_department.get(subject.department, ()) if subject.department else ()),
        *((extra or {}).get(subject.client_id, ())),
    )
    return [g for g in held if g.resource == resource and g.valid_on(today)]


def _matching(
    policy: CompiledPolicy,
    subject: Subject,
    *,
    resource: str,
    purpose: str,
    pool: list[CompiledGrant],
    assisted: bool,
) -> list[CompiledGrant] | Decision:
    """Return the grants that serve `purpose`, or the refusal saying what is missing."""
    candidates = pool if assisted else [g for g in pool if not g.requires_consent]
    if not assisted and not any(purpose in g.purposes for g in candidates):
        needing = sorted(g.id for g in pool if g.requires_consent and purpose in g.purposes)
        if needing:
            # PIPL Art. 13(1)(1) and Art. 14: here the legal basis is the resident's own informed consent.
            reason = (
                f"{', '.join(needing)} reach {resource} for {purpose!r} only acting for one resident "
                "with their recorded consent (代办): send X-On-Behalf-Of and X-Consent-Id"
            )
            return deny(policy, resource=resource, purpose=purpose, reason=reason, missing="consent-required")
    if not candidates:
        reason = f"no grant gives client {subject.client_id} access to {resource}"
        return deny(policy, resource=resource, purpose=purpose, reason=reason, missing="grant-missing")
    matching = [g for g in candidates if purpose in g.purposes]
    if purpose not in policy.purposes or not matching:
        granted = sorted({p for g in candidates for p in g.purposes})
        reason = f"no grant for purpose {purpose!r} on {resource}; granted purposes: {', '.join(granted)}"
        return deny(policy, resource=resource, purpose=purpose, reason=reason, missing="grant-missing")
    return matching


def _allow(
    policy: CompiledPolicy,
    res: ResourceInfo,
    *,
    subject: Subject,
    purpose: str,
    resource: str,
    groups: dict[RowScope, list[CompiledGrant]],
    matching: list[CompiledGrant],
) -> Decision:
    """Return the allowing decision: one field plan per row scope, and the rules that explain it."""
    scopes = tuple(groups)
    # Approval grants add fields to the rows the client already reaches for this purpose.
    plans: list[FieldPlan] = []
    all_rules: list[list[FieldRule]] = []
    for scope in scopes:
        plan, scope_rules = _field_plan(policy, res, groups[scope], subject, purpose)
        plans.append(plan)
        all_rules.append(scope_rules)
    unrestricted = len(scopes) == 1 and scopes[0].prefixes is None and not scopes[0].tags
    union = _union(plans)
    granted = tuple(sorted(g.id for g in matching))
    return Decision(
        allowed=True,
        reason="allowed by " + ", ".join(granted),
        resource=resource,
        purpose=purpose,
        policy_version=policy.version,
        info=res,
        scopes=None if unrestricted else scopes,
        plans=tuple(plans),
        grants=granted,
        fields_disclosed=tuple(n for n in res.order if n in union.clear),
        fields_masked=tuple(n for n, _ in union.masked),
        rules=tuple(all_rules[0]) if len(all_rules) == 1 else _merge_rules(all_rules),
    )


def _merge_rules(per_scope: list[list[FieldRule]]) -> tuple[FieldRule, ...]:
    rank = {"clear": 2, "masked": 1, "hidden": 0}
    best: dict[str, FieldRule] = {}
    for rules in per_scope:
        for r in rules:
            if r.field not in best or rank[r.outcome] > rank[best[r.field].outcome]:
                best[r.field] = r
    return tuple(best.values())
