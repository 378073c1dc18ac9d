"""What a decision is: who asks (Subject), which rows (RowScope), which fields (FieldPlan), the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from policies.compile import CompiledPolicy, ResourceInfo
from policies.masks import Mask
from policies.projection import CompiledPlan, DecodeErrors, RowKeys

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
            self._combined[hit] = union_plans([self.plans[i] for i in hit]) if hit else None
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


def union_plans(plans: list[FieldPlan]) -> FieldPlan:
    """Return the plan showing what any of `plans` shows (a row several grants reach)."""
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
