"""API2:2023 Broken authentication: token lifecycle, introspection, client assertions, sign-in oracles."""

from __future__ import annotations

import time
from typing import Any

import pytest
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc.jwk import RSAKey

from gateway.auth import clients
from gateway.auth.clients import AuthMethod, create_client
from gateway.auth.tokens import issuer
from tests.security.conftest import World

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _works(w: World, token: str) -> int:
    return int(w.tc.get("/v1/regions", headers={"Authorization": f"Bearer {token}"}).status_code)


def _introspect(w: World, token: str, *, as_client: str) -> dict[str, Any]:
    r = w.tc.post("/oauth/introspect", data={"token": token}, auth=(as_client, w.secrets[as_client]))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_introspection_answers_only_for_own_tokens(world: World) -> None:
    """Any client used to learn any other client's scopes and expiry by introspecting its token."""
    theirs = world.token("civil-affairs")
    assert _introspect(world, theirs, as_client="civil-affairs")["active"] is True
    assert _introspect(world, theirs, as_client="hr") == {"active": False}


def test_introspection_scope_reads_other_clients_tokens(world: World) -> None:
    """A resource server holding tokens:introspect may check any token we issued."""
    _, secret = create_client(
        world.engine, name="rs", department="hr", subsystem="t", scopes=["tokens:introspect"], client_id="rs"
    )
    assert secret
    world.secrets["rs"] = secret
    assert _introspect(world, world.token("civil-affairs"), as_client="rs")["active"] is True


def _admin(w: World, verb: str, client_id: str) -> Any:
    r = w.tc.post(f"/v1/admin/clients/{client_id}:{verb}", headers=w.headers("registrar"))
    assert r.status_code == 200, r.text
    return r.json()


def _refused_soon(w: World, token: str) -> None:
    deadline = time.monotonic() + 3
    while _works(w, token) != 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _works(w, token) == 401


def test_rotating_a_secret_revokes_the_tokens_issued_before(world: World) -> None:
    """A leaked secret is rotated: the tokens obtained with it must stop working too."""
    old = world.token("hr")
    assert _works(world, old) == 200
    world.secrets["hr"] = _admin(world, "rotate-secret", "hr")["client_secret"]
    _refused_soon(world, old)
    assert _works(world, world.token("hr", fresh=True)) == 200
    assert _introspect(world, old, as_client="hr") == {"active": False}


def test_disable_then_enable_does_not_revive_old_tokens(world: World) -> None:
    """Re-enabling a client used to bring its pre-disable tokens back to life."""
    old = world.token("hr")
    _admin(world, "disable", "hr")
    _refused_soon(world, old)
    _admin(world, "enable", "hr")
    time.sleep(0.5)  # past a refresh of every replica's client table
    assert _works(world, old) == 401
    assert _works(world, world.token("hr", fresh=True)) == 200


def _keyed(w: World) -> tuple[str, RSAKey]:
    key = RSAKey.generate_key(2048)
    create_client(
        w.engine,
        name="keyed",
        department="hr",
        subsystem="t",
        scopes=["residents:read"],
        auth_method=AuthMethod.PRIVATE_KEY_JWT,
        jwks={"keys": [key.as_dict(private=False)]},
        client_id="keyed",
    )
    return "keyed", key


def _assert(w: World, assertion: str, client_id: str | None = None) -> Any:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    if client_id:
        data["client_id"] = client_id
    return w.tc.post("/oauth/token", data=data)


def test_a_long_lived_client_assertion_is_refused(world: World) -> None:
    """A client assertion valid for 10 years is a stolen credential waiting to happen (RFC 7523 §3)."""
    cid, key = _keyed(world)
    url = issuer(world.tc.app.state.config.settings) + "/oauth/token"  # type: ignore[attr-defined]
    now = int(time.time())
    ten_years = private_key_jwt_sign(key, cid, url, claims={"iat": now, "exp": now + 10 * 365 * 86400})
    r = _assert(world, ten_years)
    assert r.status_code in (400, 401) and r.json()["error"] == "invalid_client", r.text
    no_iat = private_key_jwt_sign(key, cid, url, claims={"iat": None, "exp": now + 60})
    assert _assert(world, no_iat).status_code in (400, 401)
    short = private_key_jwt_sign(key, cid, url, claims={"iat": now, "exp": now + 120})
    assert _assert(world, short).status_code == 200


def test_an_assertion_naming_a_secret_client_is_401_not_500(world: World) -> None:
    """An assertion for a client that authenticates by secret used to answer 500."""
    _, key = _keyed(world)
    url = issuer(world.tc.app.state.config.settings) + "/oauth/token"  # type: ignore[attr-defined]
    r = _assert(world, private_key_jwt_sign(key, "hr", url))
    assert r.status_code in (400, 401) and r.json()["error"] in ("invalid_client", "invalid_request"), r.text


def test_malformed_assertions_are_400_or_401(world: World) -> None:
    """Garbage where a JWT should be is the client's error, never the server's."""
    _keyed(world)
    for assertion in ("", "x", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJocit9.", "e30.e30.e30", "é" * 50):
        for cid in (None, "keyed", "hr", "nobody"):
            r = _assert(world, assertion, cid)
            # 429: the sign-in back-off (issue 15) counts these failures too; still never a 500.
            assert r.status_code in (400, 401, 429), (assertion, cid, r.status_code, r.text)


def test_unknown_client_and_wrong_secret_look_the_same(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The token endpoint used to tell which client ids exist, by its text and by its speed."""
    verified: list[str] = []
    real = clients.verify_against

    def counting(secret_hash: str | None, secret: str) -> bool:
        verified.append(secret)
        return real(secret_hash, secret)

    monkeypatch.setattr(clients, "verify_against", counting)
    data = {"grant_type": "client_credentials"}
    unknown = world.tc.post("/oauth/token", data=data, auth=("no-such-client", "guess-1"))
    wrong = world.tc.post("/oauth/token", data=data, auth=("hr", "guess-2"))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert verified == ["guess-1", "guess-2"]  # the same argon2 work for both


def test_forged_tokens_are_refused(world: World) -> None:
    """alg none, a token signed by another key and a tampered payload are all 401 invalid-token."""
    import base64
    import json

    real = world.token("hr")
    head, body, sig = real.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["scope"] = "admin:clients audit:read"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    for token in (f"{head}.{forged_body}.{sig}", f"{none_head}.{forged_body}.", real[:-4] + "AAAA"):
        r = world.tc.get("/v1/admin/clients", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["type"] == "/problems/invalid-token"


def test_revoking_a_compromised_clients_tokens(world: World) -> None:
    """`gateway clients revoke-tokens` (a leaked key): every token held now dies, new ones work."""
    old = world.token("hr")
    assert _works(world, old) == 200
    clients.revoke_tokens(world.engine, "hr")
    _refused_soon(world, old)
    assert _works(world, world.token("hr", fresh=True)) == 200
