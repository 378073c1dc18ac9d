"""API5:2023 Broken function level authorization: administrative and audit functions need their scopes."""

from __future__ import annotations

from tests.security.conftest import World

# (method, path, body) of functions a plain reader must not reach.
PRIVILEGED = [
    ("GET", "/v1/admin/clients", None),
    ("POST", "/v1/admin/clients/hr:disable", None),
    ("POST", "/v1/admin/clients/hr:rotate-secret", None),
    ("GET", "/v1/audit/events", None),
    ("GET", "/v1/audit/checkpoints", None),
    ("POST", "/v1/ingest/civil_affairs", {"T_HJ_JMXX": []}),
    ("POST", "/v1/consents", {}),
]


def test_readers_cannot_reach_privileged_functions(world: World) -> None:
    """A department's read token is refused 403 insufficient-scope on every administrative function."""
    for client in ("hr", "civil-affairs"):
        headers = {**world.headers(client), "Idempotency-Key": "k"}
        for method, path, body in PRIVILEGED:
            r = world.tc.request(method, path, json=body, headers=headers)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.json()["type"] == "/problems/insufficient-scope", (method, path)
    assert world.tc.get("/v1/regions", headers=world.headers("hr")).status_code == 200  # the token works


def test_without_a_token_every_function_is_401(world: World) -> None:
    """No function answers an anonymous caller with data."""
    for method, path, body in PRIVILEGED:
        r = world.tc.request(method, path, json=body)
        assert r.status_code == 401, (method, path, r.status_code)


def test_a_scope_not_granted_cannot_be_requested(world: World) -> None:
    """A client cannot ask the token endpoint for a scope the operator did not grant it."""
    r = world.tc.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin:clients"},
        auth=("hr", world.secrets["hr"]),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
