"""The receiving side: a member's call carries signed claims naming who originally asked; verify them."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from joserfc import jws, jwt
from joserfc.errors import JoseError

from gateway.auth import revocation
from gateway.auth.dependencies import PrincipalDep
from gateway.auth.keys import ASYMMETRIC_ALGS
from gateway.auth.tokens import Principal
from gateway.context import RecordDep, RequestRecord
from gateway.federation.client import CLAIMS_HEADER, CLAIMS_TYP, Caller
from gateway.federation.errors import ClaimsInvalid, NotAMember
from gateway.federation.models import Member
from gateway.federation.service import FederationState
from gateway.policy.deps import PurposeHeader
from gateway.runtime import runtime_of

ClaimsHeader = Annotated[
    str | None,
    Header(
        alias=CLAIMS_HEADER,
        max_length=4096,
        description="Gateway-to-gateway calls only: a JWT signed with the calling member's pinned key, "
        "naming the original client, department and purpose (docs/integrating.md, Federation).",
    ),
]
_ALGS = sorted(ASYMMETRIC_ALGS)


async def get_federation(request: Request) -> FederationState:
    """Return the process's federation state (built in the lifespan)."""
    state: FederationState = runtime_of(request).federation
    return state


FederationDep = Annotated[FederationState, Depends(get_federation)]


def verify_claims(
    state: FederationState, member: Member, token: str, *, purpose: str | None
) -> dict[str, Any]:
    """Verify signature (pinned keys only), audience, lifetime, purpose and single use; return the claims."""
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
        if header.get("typ") != CLAIMS_TYP or header.get("alg") not in ASYMMETRIC_ALGS:
            raise ClaimsInvalid(f"{CLAIMS_HEADER} must be a {CLAIMS_TYP} JWS with an asymmetric alg")
        claims = jwt.decode(token, state.member_keys(member.client_id or ""), algorithms=_ALGS).claims
        jwt.JWTClaimsRegistry(
            leeway=state.leeway,
            iss={"essential": True, "value": member.client_id or ""},
            aud={"essential": True, "value": state.public_url},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
            xz_client={"essential": True},
            xz_department={"essential": True},
            xz_origin={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError, UnicodeError) as exc:
        # Not echoed in detail: which check failed helps a forger more than an operator (the log has it).
        raise ClaimsInvalid(f"{CLAIMS_HEADER} is not valid for member {member.name}") from exc
    if (claims.get("purpose") or None) != purpose:
        raise ClaimsInvalid("the signed purpose differs from X-Purpose")
    expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
    jti = "fed:" + str(claims["jti"])[:250]
    if not revocation.remember_assertion(
        state.engine, client_id=member.client_id or "", jti=jti, expires_at=expires
    ):
        raise ClaimsInvalid(f"{CLAIMS_HEADER} was used before (a replay)")
    return claims


async def member_caller(
    state: FederationState,
    principal: Principal,
    record: RequestRecord,
    token: str | None,
    purpose: str | None,
) -> Caller | None:
    """Return the original caller a member's request claims (None when the principal is no member)."""
    member = state.doc.member_by_client(principal.client_id) if state.doc else None
    if member is None:
        return None
    if not token:
        raise ClaimsInvalid(f"a member's call carries {CLAIMS_HEADER}")
    claims = await asyncio.to_thread(verify_claims, state, member, token, purpose=purpose)
    raw_via = claims.get("xz_via")
    via: list[Any] = raw_via if isinstance(raw_via, list) else []
    end_user = claims.get("xz_end_user")
    caller = Caller(
        client_id=str(claims["xz_client"])[:64],
        department=str(claims["xz_department"])[:32],
        origin=str(claims["xz_origin"])[:64],
        end_user=str(end_user)[:128] if end_user else None,
        via=tuple(str(v)[:64] for v in via[:8]),
    )
    # B's audit names member A's department and client as claimed (the disclosure report shows it).
    record.on_behalf_of = caller.label()[:128]
    record.end_user = caller.end_user
    return caller


async def require_member(
    state: FederationDep,
    principal: PrincipalDep,
    record: RecordDep,
    claims: ClaimsHeader = None,
    purpose: PurposeHeader = None,
) -> Caller:
    """Let only listed members in, each with valid claims of the original caller."""
    caller = await member_caller(state, principal, record, claims, purpose)
    if caller is None:
        raise NotAMember(f"client {principal.client_id} is not a member of this gateway's federation")
    return caller


MemberCallerDep = Annotated[Caller, Depends(require_member)]
