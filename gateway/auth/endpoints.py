"""OAuth endpoints: token (RFC 6749 §4.4), introspection (RFC 7662), revocation (RFC 7009), metadata
(RFC 8414) and the JWKS (RFC 7517). Token-endpoint errors are RFC 6749 §5.2 JSON, not problem+json."""

from __future__ import annotations

import contextlib
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from gateway.auth.actors import claimed_client, issued_token, note_sign_in
from gateway.auth.keys import ASYMMETRIC_ALGS
from gateway.auth.runtime import AuthState
from gateway.auth.scopes import Scope
from gateway.auth.server import AUTH_METHODS, StarletteOAuth2Request, check_basic_credentials, form_of
from gateway.auth.tokens import issuer
from gateway.context import record_of_scope
from gateway.errors import RateLimited
from gateway.openapi import oauth_error, problem_responses
from gateway.policy.throttle import guarded_sign_in
from gateway.routing import api_router, operation
from gateway.runtime import runtime_of

router = api_router(tags=["oauth"])
# The discovery documents lie outside the audited prefixes (gateway/audit/middleware.py): no audit headers.
well_known = api_router(audited=False, tags=["oauth"])


def _form_body(
    properties: dict[str, Any], *, required: list[str], security: list[dict[str, list[str]]]
) -> dict[str, Any]:
    """Return an OAuth endpoint's `openapi_extra`: its form-encoded request body and its security."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        },
        "security": security,
    }


_FORM_BODY = _form_body(
    {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "scope": {"type": "string", "description": "Space-separated scopes."},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string", "description": "client_secret_post only."},
        "client_assertion_type": {"type": "string"},
        "client_assertion": {"type": "string", "description": "private_key_jwt only."},
    },
    required=["grant_type"],
    # Or no scheme at all: client_secret_post and private_key_jwt authenticate in the form body
    # (RFC 6749 §2.3.1, RFC 7523 §2.2), so the Authorization header is not required.
    security=[{"clientBasic": []}, {}],
)
_FORM_BODY_RESPONSES: dict[int | str, Any] = {
    "200": {
        "description": "An access token (RFC 6749 §5.1).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"type": "string"},
                        "expires_in": {"type": "integer"},
                        "scope": {"type": "string"},
                    },
                    "required": ["access_token", "token_type", "expires_in"],
                },
                "example": {
                    "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9...",
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "scope": "residents:read",
                },
            }
        },
    },
    "400": oauth_error("RFC 6749 §5.2 error: invalid_request, invalid_scope, ...", "invalid_scope"),
    "401": oauth_error("invalid_client (HTTP Basic attempted).", "invalid_client"),
    # Sign-in limits per address and client id, and back-off after failures (gateway/policy/throttle.py).
    **problem_responses(RateLimited),
}
_TOKEN_FORM = _form_body(
    {
        "token": {"type": "string"},
        "token_type_hint": {"type": "string", "enum": ["access_token"]},
    },
    required=["token"],
    security=[{"clientBasic": []}],
)
_TOKEN_FORM_RESPONSES: dict[int | str, Any] = {
    "200": {
        "description": "See the RFC (introspection: RFC 7662 §2.2; revocation: RFC 7009 §2.2).",
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {"active": True, "client_id": "civil-affairs", "scope": "residents:read"},
            }
        },
    },
    "400": oauth_error("RFC 6749 §5.2 error.", "invalid_request"),
    "401": oauth_error("invalid_client.", "invalid_client"),
}


def _auth(request: Request) -> AuthState:
    state: AuthState = runtime_of(request).auth
    return state


async def _dispatch(request: Request, endpoint: str | None) -> Response:
    """Wrap the Starlette request for Authlib and run the sync server in the thread pool."""
    auth = _auth(request)
    server = auth.server
    try:
        form = form_of(request.headers.get("content-type"), await request.body())
        check_basic_credentials(request.headers.get("authorization"))
        # Our configured public URL, not the socket's: TLS usually ends at a proxy (RFC 6749 §3.2 needs TLS).
        oreq = StarletteOAuth2Request(
            method=request.method,
            uri=auth.settings.public_url.rstrip("/") + request.url.path,
            headers=request.headers,
            form=form,
        )
    except OAuth2Error as error:
        return server.handle_response(*error())
    if endpoint is None:
        response: Response = await run_in_threadpool(server.create_token_response, oreq)
    else:
        response = await run_in_threadpool(server.create_endpoint_response, endpoint, oreq)
    return response


@router.post(
    "/oauth/token",
    **operation("Obtain an access token", responses=_FORM_BODY_RESPONSES, openapi_extra=_FORM_BODY),
)
async def token(request: Request) -> Response:
    """Issue an access token to an authenticated client (client_credentials grant, RFC 6749 §4.4)."""
    form: dict[str, str] = {}
    with contextlib.suppress(OAuth2Error):
        form = form_of(request.headers.get("content-type"), await request.body())
    claimed = claimed_client(request.headers.get("authorization"), form)
    # Per source address and per claimed client id, with a growing back-off after failures.
    response = await guarded_sign_in(
        request,
        form="token",
        client_id=claimed,
        attempt=lambda: _dispatch(request, None),
        ok=lambda answer: answer.status_code not in (400, 401),
    )
    note_sign_in(
        record_of_scope(request.scope),
        claimed=claimed,
        access_token=issued_token(bytes(response.body)) if response.status_code == 200 else None,
    )
    return response


@router.post(
    "/oauth/introspect",
    **operation("Introspect a token", responses=_TOKEN_FORM_RESPONSES, openapi_extra=_TOKEN_FORM),
)
async def introspect(request: Request) -> Response:
    """Tell an authenticated client whether a token is active, and its claims (RFC 7662)."""
    return await _dispatch(request, "introspection")


@router.post(
    "/oauth/revoke", **operation("Revoke a token", responses=_TOKEN_FORM_RESPONSES, openapi_extra=_TOKEN_FORM)
)
async def revoke(request: Request) -> Response:
    """Revoke one of the calling client's tokens on every replica (RFC 7009)."""
    return await _dispatch(request, "revocation")


_METADATA_EXAMPLE = {
    "issuer": "http://127.0.0.1:8000",
    "token_endpoint": "http://127.0.0.1:8000/oauth/token",
    "jwks_uri": "http://127.0.0.1:8000/.well-known/jwks.json",
    "introspection_endpoint": "http://127.0.0.1:8000/oauth/introspect",
    "revocation_endpoint": "http://127.0.0.1:8000/oauth/revoke",
    "scopes_supported": ["residents:read", "households:read"],
    "response_types_supported": [],
    "grant_types_supported": ["client_credentials"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
}
_JWKS_EXAMPLE = {
    "keys": [{"kty": "RSA", "kid": "2026-11-01", "use": "sig", "alg": "RS256", "n": "0vx7...", "e": "AQAB"}]
}


@well_known.get(
    "/.well-known/oauth-authorization-server",
    **operation(
        "Authorization server metadata",
        responses={200: {"content": {"application/json": {"example": _METADATA_EXAMPLE}}}},
    ),
)
async def metadata(request: Request) -> JSONResponse:
    """Describe this authorization server (RFC 8414)."""
    settings = _auth(request).settings
    base = issuer(settings)
    return JSONResponse(
        {
            "issuer": base,
            "token_endpoint": base + "/oauth/token",
            "jwks_uri": base + "/.well-known/jwks.json",
            "introspection_endpoint": base + "/oauth/introspect",
            "revocation_endpoint": base + "/oauth/revoke",
            "scopes_supported": [s.value for s in Scope],
            "response_types_supported": [],  # no authorization endpoint: client credentials only
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": sorted(ASYMMETRIC_ALGS),
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        },
        headers={"Cache-Control": "public, max-age=300"},
    )


@well_known.get(
    "/.well-known/jwks.json",
    **operation(
        "Token signing keys", responses={200: {"content": {"application/json": {"example": _JWKS_EXAMPLE}}}}
    ),
)
async def jwks(request: Request) -> JSONResponse:
    """Publish the public keys that verify our access tokens, retired ones until their tokens expire."""
    # Short max-age: a verifier must see a rotated-in key within a minute (docs/keys.md).
    return JSONResponse(_auth(request).keyring.jwks, headers={"Cache-Control": "public, max-age=60"})
