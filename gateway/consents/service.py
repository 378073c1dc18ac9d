"""Consents for assisted access (代办): record, revoke, and check one against an assisted request."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.tokens import Principal
from gateway.consents import repository
from gateway.consents.models import GUARDIAN_AGE, ConsentCreate
from gateway.errors import Conflict, NotFound, ValidationFailed, or_not_found
from gateway.policy.errors import ConsentInvalid
from gateway.residents import repository as residents
from schemas.citizen_id import birth_date_of
from schemas.regions import in_subtree
from store.read import ReadStore

# One text for an unknown resident and one outside the agent's village, whichever way it was named.
NO_SUCH_RESIDENT = "no resident of your region matches"


def new_consent_id() -> str:
    """Return a fresh, unguessable consent reference (C + 16 hex digits)."""
    return "C" + secrets.token_hex(8).upper()


def status_of(consent: Mapping[str, Any], *, today: dt.date) -> str:
    """Return pending, active, expired or revoked, as of `today` (China Standard Time)."""
    if consent["revoked_at"] is not None:
        return "revoked"
    if today < consent["valid_from"]:
        return "pending"
    return "expired" if today > consent["valid_until"] else "active"


def view(consent: dict[str, Any], *, today: dt.date) -> dict[str, Any]:
    """Return a stored consent with its status as of `today`."""
    return {**consent, "status": status_of(consent, today=today)}


def _invalid_body(field: str, message: str, kind: str) -> ValidationFailed:
    errors = [{"loc": ["body", field], "msg": message, "type": kind}]
    return ValidationFailed(f"body.{field}: {message}", errors=errors)


@dataclass(frozen=True, slots=True)
class Bounds:
    """How far back a consent may start and how long it may last (GATEWAY_CONSENT_*)."""

    backdate_days: int
    max_days: int


def check_period(body: ConsentCreate, *, today: dt.date, bounds: Bounds) -> None:
    """Refuse a period starting before the record date (less a grace) or lasting longer than allowed."""
    if body.valid_until < today:
        raise _invalid_body("valid_until", f"valid_until {body.valid_until} is already past", "date_past")
    earliest = today - dt.timedelta(days=bounds.backdate_days)
    if body.valid_from < earliest:
        message = f"valid_from may be at most {bounds.backdate_days} days before today ({earliest})"
        raise _invalid_body("valid_from", message, "date_too_early")
    if (body.valid_until - body.valid_from).days + 1 > bounds.max_days:
        message = f"a consent lasts at most {bounds.max_days} days; ask the resident again after"
        raise _invalid_body("valid_until", message, "period_too_long")


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _birth_date(doc: Mapping[str, Any]) -> dt.date | None:
    if doc.get("birth_date"):
        return dt.date.fromisoformat(str(doc["birth_date"]))
    nid = doc.get("national_id")
    try:
        return birth_date_of(str(nid)) if nid else None
    except ValueError:
        return None


def check_guardian(body: ConsentCreate, doc: Mapping[str, Any], *, today: dt.date) -> None:
    """Demand an adult guardian's own consent for a resident under 14 (PIPL Art. 31)."""
    born = _birth_date(doc)
    if born is None or _age(born, today) >= GUARDIAN_AGE:
        return
    guardian = body.guardian
    if guardian is None:
        message = f"the resident is under {GUARDIAN_AGE}: a guardian's consent is required (PIPL Art. 31)"
        raise _invalid_body("guardian", message, "guardian_required")
    if (
        guardian.national_id == doc.get("national_id")
        or _age(birth_date_of(guardian.national_id), today) < 18
    ):
        raise _invalid_body(
            "guardian", "the guardian must be an adult other than the resident", "guardian_invalid"
        )


async def resident_in_region(
    db: ReadStore, *, resident_id: str | None, national_id: str | None, region: str | None
) -> tuple[str, str | None]:
    """Return (id, region) of the resident named by id or ID number inside `region`, or raise NotFound."""
    if national_id is not None:
        found = await residents.get_by_national_id(db, national_id)
        rid, doc = found if found is not None else (None, None)
    else:
        rid, doc = resident_id, await residents.get_doc(db, resident_id or "")
    place = orjson.loads(doc).get("region_code") if doc is not None else None
    if rid is None or doc is None or (region is not None and not (place and in_subtree(place, region))):
        # Outside the caller's own region answers exactly like an unknown resident.
        raise NotFound(NO_SUCH_RESIDENT)
    return rid, place


async def record(
    engine: AsyncEngine,
    db: ReadStore,
    body: ConsentCreate,
    *,
    principal: Principal,
    purposes: Collection[str],
    end_user: str | None,
    today: dt.date,
    bounds: Bounds,
) -> dict[str, Any]:
    """Record a resident's consent for the calling agent client; return it."""
    if body.purpose not in purposes:
        # PIPL Art. 6: only an enumerated, specified purpose can be consented to.
        known = ", ".join(sorted(purposes))
        message = f"unknown purpose {body.purpose!r}; one of: {known}"
        raise _invalid_body("purpose", message, "unknown_purpose")
    # Checked before the resident is looked up, so these answers say nothing about who lives where.
    check_period(body, today=today, bounds=bounds)
    resident_id, _ = await resident_in_region(
        db, resident_id=body.resident_id, national_id=body.national_id, region=principal.region_code
    )
    doc = await residents.get_doc(db, resident_id)
    check_guardian(body, orjson.loads(doc) if doc else {}, today=today)
    values = {
        "id": new_consent_id(),
        "resident_id": resident_id,
        "purpose": body.purpose,
        "valid_from": body.valid_from,
        "valid_until": body.valid_until,
        "method": body.evidence.method.value,
        "evidence": body.evidence.model_dump(mode="json"),
        "guardian": body.guardian.model_dump(mode="json") if body.guardian else None,
        "agent_client_id": principal.client_id,
        "agent_department": principal.department,
        "recorded_by": end_user,
        "created_at": dt.datetime.now(dt.UTC),
    }
    return view(await repository.create(engine, values), today=today)


async def found(engine: AsyncEngine, consent_id: str, *, principal: Principal) -> dict[str, Any]:
    """Return a consent the caller recorded, or raise NotFound."""
    consent = await repository.get(engine, consent_id, agent_client_id=principal.client_id)
    return or_not_found(consent, f"no consent {consent_id}")


async def page(
    engine: AsyncEngine, *, principal: Principal, resident_id: str | None, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Return a page of the consents the caller recorded, and the key to continue from."""
    return await repository.list_for(
        engine, agent_client_id=principal.client_id, resident_id=resident_id, after=after, limit=limit
    )


async def revoke(
    engine: AsyncEngine, consent_id: str, *, principal: Principal, by: str | None, reason: str
) -> dict[str, Any]:
    """Revoke a consent the caller recorded (PIPL Art. 15); return it."""
    await found(engine, consent_id, principal=principal)
    if not await repository.revoke(
        engine, consent_id, agent_client_id=principal.client_id, by=by, reason=reason
    ):
        raise Conflict(f"consent {consent_id} is already revoked")
    return await found(engine, consent_id, principal=principal)


async def check(
    engine: AsyncEngine,
    consent_id: str,
    *,
    client_id: str,
    resident_id: str | None,
    purpose: str | None,
    today: dt.date,
) -> dict[str, Any]:
    """Return the consent if it covers an assisted request, else raise ConsentInvalid saying why."""

    def invalid(detail: str, problem: str) -> ConsentInvalid:
        return ConsentInvalid(detail, consent_id=consent_id, problem=problem)

    # A consent is given to the processor that recorded it (PIPL Art. 14): no other client may use it.
    consent = await repository.get(engine, consent_id, agent_client_id=client_id)
    if consent is None:
        raise invalid(f"no consent {consent_id} recorded by client {client_id}", "unknown")
    if resident_id is None:
        message = "X-Consent-Id needs X-On-Behalf-Of naming the consent's resident"
        raise invalid(message, "on-behalf-of-missing")
    if resident_id != consent["resident_id"]:
        raise invalid(f"consent {consent_id} is not for resident {resident_id}", "other-resident")
    if purpose != consent["purpose"]:
        raise invalid(
            f"consent {consent_id} is for purpose {consent['purpose']!r}, not X-Purpose {purpose!r}",
            "other-purpose",
        )
    state = status_of(consent, today=today)
    if state == "revoked":
        raise invalid(f"consent {consent_id} was withdrawn (PIPL Art. 15)", "revoked")
    if state == "pending":
        raise invalid(f"consent {consent_id} is in force from {consent['valid_from']}", "not-yet-valid")
    if state == "expired":
        raise invalid(f"consent {consent_id} ended on {consent['valid_until']}", "expired")
    return consent
