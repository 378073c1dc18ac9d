"""A real OAuth client library (Authlib's httpx OAuth2Client) against the gateway served by uvicorn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.auth.clients import AuthMethod
from store.engines import make_sync_engine
from tests.auth.helpers import auth_settings, register
from tests.support import factories
from tests.support.live import LiveServer
from tests.support.pgcluster import free_port


def _serve(store_url: str) -> LiveServer:
    port = free_port()
    settings = auth_settings(store_url, public_url=f"http://127.0.0.1:{port}", auth_refresh_seconds=0.2)
    return LiveServer(create_app(settings), port=port)


@pytest.fixture
def live_sqlite(sqlite_url: str) -> Iterator[tuple[LiveServer, Engine]]:
    """Serve a migrated SQLite store holding the small county on a free loopback port."""
    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    with _serve(sqlite_url) as server:
        yield server, engine
    engine.dispose()


def _regions(oc: OAuth2Client, base: str) -> httpx.Response:
    return oc.get(base + "/v1/regions", params={"limit": 3})


@pytest.mark.parametrize("method", [AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST])
def test_secret_clients_fetch_use_introspect_and_revoke(
    live_sqlite: tuple[LiveServer, Engine], method: AuthMethod
) -> None:
    server, engine = live_sqlite
    cid, secret = register(engine, scopes=["residents:read", "notices:read"], auth_method=method)
    token_url = server.url + "/oauth/token"
    with OAuth2Client(
        cid,
        secret,
        token_endpoint_auth_method=method.value,
        revocation_endpoint_auth_method=method.value,  # a client uses its registered method everywhere
        scope="notices:read",
    ) as oc:
        token = oc.fetch_token(token_url, grant_type="client_credentials")
        assert token["token_type"].lower() == "bearer" and token["scope"] == "notices:read"
        assert 0 < token["expires_in"] <= 600
        r = _regions(oc, server.url)
        assert r.status_code == 200 and r.json()["items"], r.text
        info = oc.introspect_token(server.url + "/oauth/introspect", token=token["access_token"]).json()
        assert info["active"] is True and info["client_id"] == cid and info["scope"] == "notices:read"
        assert oc.revoke_token(server.url + "/oauth/revoke", token=token["access_token"]).status_code == 200
        r = _regions(oc, server.url)
        assert r.status_code == 401 and "items" not in r.text
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
        info = oc.introspect_token(server.url + "/oauth/introspect", token=token["access_token"]).json()
        assert info == {"active": False}


class ShortLivedJWT(PrivateKeyJWT):  # type: ignore[misc]
    """Authlib signs assertions valid for an hour; the gateway takes at most 5 minutes (see the guide)."""

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        """Sign an assertion that expires two minutes after it is made."""
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            header=self.headers,
            alg=self.alg,
            expires_in=120,
        )


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_private_key_jwt_client(live_sqlite: tuple[LiveServer, Engine], alg: str) -> None:
    server, engine = live_sqlite
    key = RSAKey.generate_key(2048) if alg == "RS256" else ECKey.generate_key("P-256")
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "k1", "alg": alg}]}
    cid, secret = register(
        engine, scopes=["residents:read"], auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=jwks
    )
    assert secret is None
    token_url = server.url + "/oauth/token"
    with OAuth2Client(cid, key, token_endpoint_auth_method="private_key_jwt") as oc:
        oc.register_client_auth_method(ShortLivedJWT(token_url, alg=alg, headers={"kid": "k1"}))
        token = oc.fetch_token(token_url, grant_type="client_credentials")
        assert token["scope"] == "residents:read"  # no scope asked: every granted one (RFC 6749 §3.3)
        assert _regions(oc, server.url).status_code == 200


def test_secret_basic_on_postgresql(pg_url: str) -> None:
    engine = make_sync_engine(pg_url)
    factories.county(engine)
    cid, secret = register(engine, scopes=["notices:read"])
    try:
        with _serve(pg_url) as server, OAuth2Client(cid, secret) as oc:
            token = oc.fetch_token(server.url + "/oauth/token", grant_type="client_credentials")
            assert _regions(oc, server.url).status_code == 200
            # Revocation through the store by another engine: the running server refuses within ~1 s.
            assert (
                oc.revoke_token(server.url + "/oauth/revoke", token=token["access_token"]).status_code == 200
            )
            assert _regions(oc, server.url).status_code == 401
            with pytest.raises(Exception, match="invalid_client"):
                OAuth2Client(cid, "wrong-secret").fetch_token(
                    server.url + "/oauth/token", grant_type="client_credentials"
                )
    finally:
        engine.dispose()


def test_wrong_secret_is_401_with_basic_challenge(live_sqlite: tuple[LiveServer, Engine]) -> None:
    server, engine = live_sqlite
    cid, _ = register(engine, scopes=["notices:read"])
    started = time.perf_counter()
    r = httpx.post(
        server.url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, "not-the-secret")
    )
    assert time.perf_counter() - started < 5
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"  # RFC 6749 §5.2
    assert r.json()["error"] == "invalid_client" and "error_description" in r.json()
    assert r.headers["www-authenticate"].startswith("Basic ")
