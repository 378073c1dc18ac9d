"""Attacks on the bearer check and the token endpoint: each refused with the right status and no data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import Engine

from gateway.auth.clients import AuthMethod, ClientStatus, set_status
from gateway.auth.tokens import audience, issue_access_token, issuer
from gateway.settings import Settings
from tests.auth.helpers import fetch_token, register

PROBLEM = "application/problem+json"
REGIONS = "/v1/regions"


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(settings: Settings, client_id: str, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer(settings),
        "aud": audience(settings),
        "sub": client_id,
        "client_id": client_id,
        "scope": "notices:read residents:read",
        "jti": f"j{time.perf_counter_ns()}",
        "iat": now,
        "exp": now + 300,
    }
    claims.update(over)
    return claims


def _sign(api: TestClient, claims: dict[str, Any], **header: Any) -> str:
    ring = api.app.state.runtime.auth.keyring  # type: ignore[attr-defined]
    head = {"alg": ring.signer_alg, "typ": "at+jwt", "kid": ring.signer_kid, **header}
    return jwt.encode(head, claims, ring.signer, algorithms=[head["alg"]])


def _refused(api: TestClient, token: str, path: str = REGIONS) -> None:
    r = api.get(path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/invalid-token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert "items" not in r.json()


@pytest.fixture
def client_id(engine: Engine) -> str:
    cid, _ = register(engine, scopes=["notices:read", "residents:read"])
    return cid


def test_a_well_formed_token_passes(api: TestClient, settings: Settings, client_id: str) -> None:
    # The control: without it every refusal below could be a broken signer.
    r = api.get(REGIONS, headers={"Authorization": f"Bearer {_sign(api, _claims(settings, client_id))}"})
    assert r.status_code == 200 and r.json()["items"]


def test_alg_none(api: TestClient, settings: Settings, client_id: str) -> None:
    kid = api.app.state.runtime.auth.keyring.signer_kid  # type: ignore[attr-defined]
    token = f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': kid})}.{_b64(_claims(settings, client_id))}."
    _refused(api, token)


def test_hmac_signed_with_the_public_key(api: TestClient, settings: Settings, client_id: str) -> None:
    # Signed by hand: joserfc itself refuses to build an HMAC key from a public key (RFC 8725 §3.1).
    ring = api.app.state.runtime.auth.keyring  # type: ignore[attr-defined]
    _alg, public = ring.public[ring.signer_kid]
    head = _b64({"alg": "HS256", "typ": "at+jwt", "kid": ring.signer_kid})
    body = _b64(_claims(settings, client_id))
    for secret in (public.as_pem(private=False), json.dumps(public.as_dict(private=False)).encode()):
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        _refused(api, f"{head}.{body}.{_b64(mac)}")


def test_tampered_signature_and_payload(api: TestClient, settings: Settings, client_id: str) -> None:
    token = _sign(api, _claims(settings, client_id, scope="notices:read"))
    head, payload, sig = token.split(".")
    flipped = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
    _refused(api, f"{head}.{payload}.{flipped}")
    escalated = _b64(_claims(settings, client_id, scope="notices:read admin:clients"))
    _refused(api, f"{head}.{escalated}.{sig}", path="/v1/admin/clients")


def test_expired_and_future_tokens(api: TestClient, settings: Settings, client_id: str) -> None:
    skew = settings.token_clock_skew_seconds
    now = int(time.time())
    _refused(api, _sign(api, _claims(settings, client_id, iat=now - 900, exp=now - skew - 5)))
    _refused(api, _sign(api, _claims(settings, client_id, iat=now + skew + 60, exp=now + 900)))
    ring = api.app.state.runtime.auth.keyring  # type: ignore[attr-defined]
    body = issue_access_token(
        ring, client_id=client_id, scopes=["notices:read"], settings=settings, now=time.time() - 2000
    )
    _refused(api, body["access_token"])


def test_wrong_audience_issuer_and_type(api: TestClient, settings: Settings, client_id: str) -> None:
    _refused(api, _sign(api, _claims(settings, client_id, aud="https://other-county.example/api")))
    _refused(api, _sign(api, _claims(settings, client_id, iss="https://evil.example")))
    _refused(api, _sign(api, _claims(settings, client_id), typ="JWT"))  # an ID token or other JWT
    missing_jti = _claims(settings, client_id)
    del missing_jti["jti"]
    _refused(api, _sign(api, missing_jti))


def test_token_from_another_key_set(api: TestClient, settings: Settings, client_id: str) -> None:
    ring = api.app.state.runtime.auth.keyring  # type: ignore[attr-defined]
    foreign = RSAKey.generate_key(2048)
    for kid in (ring.signer_kid, foreign.thumbprint()):  # our kid reused, and an unknown kid
        head = {"alg": "RS256", "typ": "at+jwt", "kid": kid}
        _refused(api, jwt.encode(head, _claims(settings, client_id), foreign, algorithms=["RS256"]))


def test_malformed_headers(api: TestClient) -> None:
    for value in (
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer a b",
        "Bearer not.a.jwt",
        "Bearer " + "A" * 5000,
    ):
        r = api.get(REGIONS, headers={"Authorization": value} if value else {})
        assert r.status_code == 401, value
        assert r.headers["content-type"] == PROBLEM and "invalid_token" in r.headers["www-authenticate"]


def test_revoked_token(api: TestClient, engine: Engine) -> None:
    cid, secret = register(engine, scopes=["notices:read"])
    assert secret
    token = fetch_token(api, cid, secret)
    assert api.get(REGIONS, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    r = api.post("/oauth/revoke", data={"token": token}, auth=(cid, secret))
    assert r.status_code == 200
    _refused(api, token)


def test_revoking_another_clients_token_is_refused(api: TestClient, engine: Engine) -> None:
    victim, vsecret = register(engine, scopes=["notices:read"])
    attacker, asecret = register(engine, scopes=["notices:read"])
    assert vsecret and asecret
    token = fetch_token(api, victim, vsecret)
    r = api.post("/oauth/revoke", data={"token": token}, auth=(attacker, asecret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"  # RFC 7009 §2.1
    assert api.get(REGIONS, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_disabled_client(api: TestClient, engine: Engine) -> None:
    cid, secret = register(engine, scopes=["notices:read"])
    assert secret
    token = fetch_token(api, cid, secret)
    assert api.get(REGIONS, headers={"Authorization": f"Bearer {token}"}).status_code == 200  # now cached
    set_status(engine, cid, status=ClientStatus.DISABLED)  # the store only, as another replica would
    deadline = time.monotonic() + 3
    while api.get(REGIONS, headers={"Authorization": f"Bearer {token}"}).status_code == 200:
        assert time.monotonic() < deadline, "a disabled client's token still worked after 3 s"
        time.sleep(0.05)
    _refused(api, token)
    r = api.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_scope_escalation(api: TestClient, engine: Engine) -> None:
    cid, secret = register(engine, scopes=["notices:read"])
    assert secret
    for scope in ("residents:read", "notices:read admin:clients", "no-such:scope"):
        r = api.post(
            "/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=(cid, secret)
        )
        assert r.status_code == 400, scope
        assert r.json()["error"] == "invalid_scope" and "access_token" not in r.json()
    token = fetch_token(api, cid, secret)
    r = api.get("/v1/residents", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/insufficient-scope" and "items" not in r.json()
    assert r.headers["www-authenticate"] == (
        'Bearer realm="xiangzhi", error="insufficient_scope", scope="residents:read"'
    )


def test_replayed_and_misdirected_client_assertion(
    api: TestClient, engine: Engine, settings: Settings
) -> None:
    key = RSAKey.generate_key(2048)
    jwks = {"keys": [key.as_dict(private=False)]}
    cid, _ = register(engine, scopes=["notices:read"], auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=jwks)
    token_url = issuer(settings) + "/oauth/token"

    def ask(assertion: str) -> Any:
        return api.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )

    assertion = private_key_jwt_sign(key, cid, token_url, expires_in=120)  # at most 5 minutes
    assert ask(assertion).status_code == 200
    replay = ask(assertion)
    assert replay.status_code in (400, 401) and replay.json()["error"] == "invalid_client"
    assert "access_token" not in replay.json()
    wrong_aud = private_key_jwt_sign(key, cid, "https://other-county.example/oauth/token")
    assert ask(wrong_aud).json()["error"] == "invalid_client"
    other_key = private_key_jwt_sign(RSAKey.generate_key(2048), cid, token_url)
    assert ask(other_key).json()["error"] == "invalid_client"
    hs256 = private_key_jwt_sign(
        OctKey.import_key(json.dumps(jwks["keys"][0]).encode()), cid, token_url, alg="HS256"
    )
    assert ask(hs256).json()["error"] == "invalid_client"


def test_token_endpoint_errors_follow_rfc6749(api: TestClient, engine: Engine) -> None:
    cid, secret = register(engine, scopes=["notices:read"])
    assert secret
    r = api.post("/oauth/token", data={"grant_type": "password"}, auth=(cid, secret))
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = api.post("/oauth/token", json={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = api.post(
        "/oauth/token",
        content="grant_type=client_credentials&grant_type=client_credentials",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(cid, secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = api.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    ok = api.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert ok.headers["cache-control"] == "no-store"  # RFC 6749 §5.1
