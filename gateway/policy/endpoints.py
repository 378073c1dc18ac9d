"""Policy routes: the catalogue (any client), explain and reload (admin:policies)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import Query, Request
from pydantic import BaseModel, Field

from gateway.auth.clients import get_client
from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import ReadDep
from gateway.errors import NotFound, ValidationFailed
from gateway.policy.deps import PolicyStateDep, PurposeHeader, SubjectDep
from gateway.policy.errors import PolicyRejected
from gateway.residents import repository as residents
from gateway.routing import ITEM_PROBLEMS, api_router, operation
from gateway.runtime import runtime_in
from policies.decision import Subject
from policies.explain import explain
from policies.loader import PolicyInvalid

router = api_router(prefix="/v1", tags=["policy"])
admin = api_router(prefix="/v1/policy", tags=["policy"], dependencies=[require_scope(Scope.ADMIN_POLICIES)])


class CatalogueField(BaseModel):
    """One data item of the sharing catalogue and what the caller may see of it."""

    field: str
    owner: str
    sharing: str = Field(
        description="unconditional (无条件共享) | conditional (有条件共享) | none (不予共享)"
    )
    sensitivity: str = Field(description="public | personal | sensitive (PIPL Art. 28)")
    update_frequency: str
    mask: str | None
    description: str
    caller: str = Field(description="What the caller may see: clear | masked | hidden.")
    caller_purposes: list[str] = Field(description="Purposes under which the caller sees it.")


class CatalogueResource(BaseModel):
    """One resource of the catalogue."""

    resource: str
    owner: str
    description: str
    fields: list[CatalogueField]


class Catalogue(BaseModel):
    """The sharing catalogue as it applies to the caller."""

    policy_version: str
    purposes: list[dict[str, Any]]
    resources: list[CatalogueResource]


_RANK = {"hidden": 0, "masked": 1, "clear": 2}


@router.get("/catalog", **operation("The sharing catalogue", model=Catalogue))
async def catalogue(state: PolicyStateDep, subject: SubjectDep, purpose: PurposeHeader = None) -> Catalogue:
    """List every resource and field: owner, sharing class, sensitivity, and what the caller sees."""
    engine = state.engine
    policy = engine.policy
    purposes = [purpose] if purpose else [*policy.purposes, None]
    out = []
    for name, info in policy.resources.items():
        best: dict[str, tuple[str, list[str]]] = {f: ("hidden", []) for f in info.order}
        for p in purposes:
            d = engine.decide(subject, name, p)
            if not d.allowed:
                continue
            for rule in d.rules:
                outcome, ps = best[rule.field]
                if _RANK[rule.outcome] > _RANK[outcome]:
                    best[rule.field] = (rule.outcome, [p] if p else [])
                elif rule.outcome == outcome and rule.outcome != "hidden" and p:
                    ps.append(p)
        fields = [
            CatalogueField(
                field=f,
                owner=i.owner,
                sharing=i.sharing.value,
                sensitivity=i.sensitivity.value,
                update_frequency=i.update_frequency,
                mask=i.mask_kind.value if i.mask_kind else None,
                description=i.description,
                caller=best[f][0],
                caller_purposes=best[f][1],
            )
            for f, i in info.fields.items()
        ]
        out.append(
            CatalogueResource(resource=name, owner=info.owner, description=info.description, fields=fields)
        )
    return Catalogue(
        policy_version=policy.version,
        purposes=[
            {"id": p.id, "name": p.name, "legal_basis": p.legal_basis, "sensitive": p.sensitive}
            for p in policy.purposes.values()
        ],
        resources=out,
    )


@admin.get("/explain", **operation("Explain a decision", *ITEM_PROBLEMS))
async def explain_decision(
    request: Request,
    state: PolicyStateDep,
    db: ReadDep,
    client: Annotated[str, Query(min_length=1, max_length=64, description="Client id to explain for.")],
    purpose: Annotated[str | None, Query(max_length=64, description="Purpose of use.")] = None,
    resource: Annotated[str, Query(max_length=64)] = "residents",
    department: Annotated[str | None, Query(max_length=32, description="Default: the registry's.")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{12}$", description="Default: the registry's.")] = None,
    id: Annotated[
        str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9]+$", description="A resident.")
    ] = None,
) -> dict[str, Any]:
    """Say which grant allowed which fields and which rule hid or masked every other one."""
    if department is None and region is None:
        auth = runtime.auth if (runtime := runtime_in(request.scope)) else None
        found = await asyncio.to_thread(get_client, auth.engine, client) if auth is not None else None
        if found is None:
            raise NotFound(f"no registered client {client}; pass department and region")
        department, region = found.department, found.region_code
    subject = Subject(client_id=client, department=department, region_code=region)
    decision = state.engine.decide(subject, resource, purpose)
    record = None
    if id is not None:
        if resource != "residents":
            raise NotFound("record explanations are for residents")
        raw = await residents.get_doc(db, id)
        if raw is None:
            raise NotFound(f"no resident {id}")
        record = orjson.loads(raw)
    return explain(decision, record=record, names=state.village_names)


@admin.post(":reload", **operation("Reload the policy", ValidationFailed))
async def reload_policy(state: PolicyStateDep) -> dict[str, Any]:
    """Reload atomically; a policy failing validation is refused and the running one stays."""
    try:
        version = state.reload()
    except PolicyInvalid as exc:
        raise PolicyRejected(
            f"policy refused, {state.engine.version} stays: {len(exc.issues)} issue(s)",
            errors=[str(i) for i in exc.issues],
            policy_version=state.engine.version,
        ) from exc
    await state.refresh_grants(force=True)
    return {"policy_version": version, "directory": str(state.engine.directory)}
