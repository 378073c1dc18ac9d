"""Decide what a client may see of a resource for a purpose: rows (as SQL-ready scopes) and fields.

The decision's own types (Subject, RowScope, FieldPlan, Decision) are in policies/decision.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from policies.compile import CompiledGrant, CompiledPolicy, FieldInfo, ResourceInfo
from policies.decision import Decision, FieldPlan, FieldRule, RowScope, Subject, deny, union_plans
from policies.masks import Mask
from policies.models import Sensitivity, SharingClass
from schemas.regions import region_prefix


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
    union = union_plans(plans)
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
