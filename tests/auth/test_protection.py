"""Every /v1 route demands a bearer token; OpenAPI, RFC 8414 metadata and the JWKS describe the server."""

from __future__ import annotations

import re

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.scopes import Scope
from gateway.context import RecordDep
from gateway.settings import Settings
from tests.auth.helpers import fetch_token, register

PROBLEM = "application/problem+json"
# Scopes the contract binds to the operations this issue protects (regions: any valid token, no scope).
EXPECTED_SCOPES = {
    ("get", "/v1/residents"): ["residents:read"],
    ("get", "/v1/residents/{resident_id}"): ["residents:read"],
    ("post", "/v1/residents:lookup"): ["residents:read"],
    ("get", "/v1/households/{household_id}"): ["households:read"],
    ("get", "/v1/services"): ["services:read"],
    ("get", "/v1/notices"): ["notices:read"],
    ("get", "/v1/regions"): [],
    ("get", "/v1/regions/{code}"): [],
    ("post", "/v1/admin/clients"): ["admin:clients"],
}


def _v1_operations(api: TestClient) -> list[tuple[str, str]]:
    doc = api.get("/openapi.json").json()
    return [
        (method, path)
        for path, item in doc["paths"].items()
        if path.startswith("/v1")
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_every_v1_route_answers_401_without_a_token(api: TestClient) -> None:
    ops = _v1_operations(api)
    assert set(EXPECTED_SCOPES) <= set(ops)
    for method, template in ops:
        path = re.sub(r"\{[^}]+\}", "X1", template)
        r = api.request(method.upper(), path, json={})
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["www-authenticate"].startswith("Bearer ")


def test_openapi_declares_client_credentials_and_route_scopes(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["oauth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert scheme["type"] == "oauth2" and flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == {s.value for s in Scope}
    for method, path in _v1_operations(api):
        security = doc["paths"][path][method].get("security")
        assert security and all("oauth2" in req for req in security), (method, path)
        if (method, path) in EXPECTED_SCOPES:
            scopes = {s for req in security for s in req["oauth2"]}
            assert scopes == set(EXPECTED_SCOPES[(method, path)]), (method, path, scopes)


def test_metadata_and_jwks(api: TestClient) -> None:
    meta = api.get("/.well-known/oauth-authorization-server").json()
    AuthorizationServerMetadata(meta).validate_issuer()
    AuthorizationServerMetadata(meta).validate_token_endpoint()
    AuthorizationServerMetadata(meta).validate_jwks_uri()
    AuthorizationServerMetadata(meta).validate_grant_types_supported()
    assert meta["token_endpoint"] == meta["issuer"] + "/oauth/token"
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    keys = api.get("/.well-known/jwks.json").json()["keys"]
    assert keys and all("d" not in k and "p" not in k and k["kid"] and k["use"] == "sig" for k in keys)


def test_principal_and_request_record(settings: Settings, engine: Engine) -> None:
    app = create_app(settings)

    @app.get("/v1/_probe", dependencies=[require_scope(Scope.NOTICES_READ)])
    async def probe(principal: PrincipalDep, record: RecordDep) -> dict[str, object]:
        return {
            "principal": [
                principal.client_id,
                principal.department,
                principal.region_code,
                principal.token_id,
            ],
            "scopes": sorted(principal.scopes),
            "record": [record.client_id, record.department, record.token_id],
        }

    cid, secret = register(engine, scopes=["notices:read", "services:read"], department="publicity")
    assert secret
    with TestClient(app) as tc:
        token = fetch_token(tc, cid, secret, scope="notices:read")
        body = tc.get("/v1/_probe", headers={"Authorization": f"Bearer {token}"}).json()
    jti = body["principal"][3]
    assert body["principal"] == [cid, "publicity", "511599000000", jti] and len(jti) == 32
    assert body["scopes"] == ["notices:read"]
    assert body["record"] == [cid, "publicity", jti]
