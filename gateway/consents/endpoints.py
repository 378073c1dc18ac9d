"""Consent routes (代办授权): thin; rules live in service.py, queries in repository.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.consents import service
from gateway.consents.models import CONSENT_ID_PATTERN, Consent, ConsentCreate, ConsentRevoke
from gateway.context import RequestRecord
from gateway.deps import CursorQuery, LimitQuery, ReadDep, ResidentQuery, SettingsDep
from gateway.desk import DeskDep
from gateway.openapi import first_item, link, links
from gateway.pagination import decode_cursor, encode_cursor
from gateway.policy.deps import PolicyStateDep
from gateway.routing import ACTION_PROBLEMS, ITEM_PROBLEMS, PAGE_PROBLEMS, api_router, operation
from schemas.models import Page
from schemas.time import today_cn

router = api_router(prefix="/v1/consents", tags=["consents"])
ConsentId = Annotated[
    str, Path(pattern=CONSENT_ID_PATTERN, description="The consent reference (its X-Consent-Id).")
]
READ = [require_scope(Scope.CONSENTS_READ)]
WRITE = [require_scope(Scope.CONSENTS_WRITE)]


def _note(record: RequestRecord, consent: dict[str, Any], *, reason: str) -> None:
    # Audited as an administrative action on behalf of the resident; their disclosure report shows it.
    record.disclose("consent", [consent["id"], consent["resident_id"]])
    record.on_behalf_of = consent["resident_id"]
    record.consent_id = consent["id"]
    record.purpose = consent["purpose"]
    record.reason = reason


@router.post(
    "",
    **operation(
        "Record a resident's consent",
        *ITEM_PROBLEMS,
        model=Consent,
        guard=WRITE,
        responses=links(
            201,
            GetConsent=link(
                "get",
                "/v1/consents/{consent_id}",
                {"consent_id": "$response.body#/id"},
                "The consent just recorded.",
            ),
            RevokeConsent=link(
                "post",
                "/v1/consents/{consent_id}:revoke",
                {"consent_id": "$response.body#/id"},
                "The resident withdraws it.",
            ),
        ),
        status_code=201,
    ),
)
async def create_consent(
    desk: DeskDep,
    db: ReadDep,
    state: PolicyStateDep,
    settings: SettingsDep,
    body: Annotated[ConsentCreate, Body()],
) -> dict[str, Any]:
    """Record that a resident of the caller's region lets it act for them (代办), for one purpose and period.

    The response's `id` goes in `X-Consent-Id` on the agent's requests, with `X-On-Behalf-Of` naming the
    resident and `X-Purpose` the consent's purpose (PIPL Art. 14).
    """
    principal, engine, record = desk
    consent = await service.record(
        engine,
        db,
        body,
        principal=principal,
        purposes=state.engine.policy.purposes.keys(),
        end_user=record.end_user,
        today=today_cn(),
        bounds=service.Bounds(settings.consent_backdate_days, settings.consent_max_days),
    )
    _note(record, consent, reason="consent recorded")
    return consent


@router.get(
    "",
    **operation(
        "List consents this client recorded",
        *PAGE_PROBLEMS,
        model=Page[Consent],
        guard=READ,
        responses=links(
            200,
            GetConsent=first_item("/v1/consents/{consent_id}", param="consent_id", what="consent"),
        ),
    ),
)
async def list_consents(
    desk: DeskDep, resident: ResidentQuery = None, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> dict[str, Any]:
    """List the consents the calling client recorded, in a stable order; follow `next` until it is null."""
    principal, engine, record = desk
    key = decode_cursor(cursor, arity=1)
    items, last = await service.page(
        engine, principal=principal, resident_id=resident, after=str(key[0]) if key else None, limit=limit
    )
    record.disclose("consent", [*(c["id"] for c in items), *dict.fromkeys(c["resident_id"] for c in items)])
    today = today_cn()
    return {
        "items": [service.view(c, today=today) for c in items],
        "next": encode_cursor([last]) if last else None,
    }


@router.get(
    "/{consent_id:segment}",  # so `/{id}:revoke` is not read as an odd id (405, not 422)
    **operation("Get a consent", *ITEM_PROBLEMS, model=Consent, guard=READ),
)
async def get_consent(desk: DeskDep, consent_id: ConsentId) -> dict[str, Any]:
    """Return one consent the calling client recorded (another client's answers 404)."""
    consent = await service.found(desk.engine, consent_id, principal=desk.principal)
    _note(desk.record, consent, reason="consent read")
    return service.view(consent, today=today_cn())


@router.post(
    "/{consent_id}:revoke", **operation("Revoke a consent", *ACTION_PROBLEMS, model=Consent, guard=WRITE)
)
async def revoke_consent(
    desk: DeskDep, consent_id: ConsentId, body: Annotated[ConsentRevoke, Body()]
) -> dict[str, Any]:
    """Withdraw a consent (PIPL Art. 15): from now on no request may act under it."""
    by = desk.record.end_user
    consent = await service.revoke(
        desk.engine, consent_id, principal=desk.principal, by=by, reason=body.reason
    )
    _note(desk.record, consent, reason="consent revoked")
    return service.view(consent, today=today_cn())
