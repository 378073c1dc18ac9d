"""Replicas starting together on a fresh store: one signing key between them, tokens valid on both."""

from __future__ import annotations

import threading
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.auth.keys import ensure_signing_key
from tests.auth.helpers import auth_settings, fetch_token, register


@pytest.mark.backends
def test_replicas_started_together_create_one_key(store_url: str, store_engine: Engine) -> None:
    """Four replicas race at first start: one key in the store, every replica signs with it."""
    settings = auth_settings(store_url)  # one key-encryption key, as replicas of one deployment share
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def replica() -> None:
        start.wait()
        try:
            ensure_signing_key(store_engine, settings)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    with store_engine.connect() as conn:
        kids = conn.execute(text("SELECT kid, retired_at FROM oauth_signing_key")).all()
    assert len(kids) == 1 and kids[0][1] is None, kids


def test_two_apps_share_one_jwks_and_each_others_tokens(store_url: str, store_engine: Engine) -> None:
    """Two apps started at once on a fresh store: the same JWKS, a token of one works on the other."""
    settings = auth_settings(store_url)
    cid, secret = register(store_engine, scopes=["notices:read"])
    assert secret
    apps = [create_app(settings), create_app(settings)]
    clients = [TestClient(app, raise_server_exceptions=False) for app in apps]
    with ExitStack() as stack:
        start = threading.Barrier(2)

        def enter(tc: TestClient) -> None:
            start.wait()
            stack.enter_context(tc)

        threads = [threading.Thread(target=enter, args=(tc,)) for tc in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        a, b = clients
        assert a.get("/.well-known/jwks.json").json() == b.get("/.well-known/jwks.json").json()
        for issuer, verifier in ((a, b), (b, a)):
            token = fetch_token(issuer, cid, secret)
            r = verifier.get("/v1/notices", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
        signers = {app.state.runtime.auth.keyring.signer_kid for app in apps}
        assert len(signers) == 1
