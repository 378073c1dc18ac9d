"""Key storage: encrypted at rest, a loud 0600 development default, key files, wrong keys refused."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from joserfc import jws, jwt
from joserfc.jwk import ECKey
from sqlalchemy import Engine, select

from gateway.auth.keys import KEYS, KeyConfigError, ensure_signing_key, load_keyring, rotate_key
from gateway.auth.tokens import TokenRejected, issue_access_token, verify_access_token
from gateway.settings import Settings


def test_private_keys_are_encrypted_at_rest(engine: Engine, sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, key_encryption_key=Fernet.generate_key().decode())
    kid = rotate_key(engine, settings)
    with engine.connect() as conn:
        row = conn.execute(select(KEYS).where(KEYS.c.kid == kid)).mappings().one()
    assert "PRIVATE" not in row["private_enc"] and '"d"' not in row["private_enc"]
    assert '"d"' not in row["public_jwk"]
    ring = load_keyring(engine, settings)
    assert ring.signer_kid == kid and ring.signer is not None and ring.signer.is_private
    other = Settings(database_url=sqlite_url, key_encryption_key=Fernet.generate_key().decode())
    with pytest.raises(KeyConfigError, match="wrong GATEWAY_KEY_ENCRYPTION_KEY"):
        load_keyring(engine, other)


def test_dev_default_is_a_loud_0600_file(
    engine: Engine, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "var" / "kek"
    settings = Settings(database_url=sqlite_url, key_encryption_key_file=path)
    ensure_signing_key(engine, settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert "DEVELOPMENT key-encryption key" in capsys.readouterr().err
    assert load_keyring(engine, settings).signer is not None
    assert "DEVELOPMENT key file" in capsys.readouterr().err  # every start says so again
    os.chmod(path, 0o644)
    with pytest.raises(KeyConfigError, match="readable by others"):
        load_keyring(engine, settings)


def test_signing_key_file_replaces_store_keys(engine: Engine, sqlite_url: str, tmp_path: Path) -> None:
    stored = Settings(database_url=sqlite_url, key_encryption_key=Fernet.generate_key().decode())
    old_kid = rotate_key(engine, stored)
    key = ECKey.generate_key("P-256")
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.as_pem(private=True))
    pem.chmod(0o600)
    settings = Settings(database_url=sqlite_url, signing_key_file=pem)
    ensure_signing_key(engine, settings)
    ring = load_keyring(engine, settings)
    assert ring.signer_kid == key.thumbprint() and ring.signer_alg == "ES256"
    assert set(ring.public) == {old_kid, key.thumbprint()}  # the old key stays until its tokens expire
    with engine.connect() as conn:
        enc = conn.execute(select(KEYS.c.private_enc).where(KEYS.c.kid == key.thumbprint())).scalar_one()
    assert enc is None  # the file's private key never enters the store
    with pytest.raises(KeyConfigError, match="GATEWAY_SIGNING_KEY_FILE"):
        rotate_key(engine, settings)
    token = issue_access_token(ring, client_id="c", scopes=["notices:read"], settings=settings)[
        "access_token"
    ]
    claims = verify_access_token(token, ring, settings=settings)
    assert claims["client_id"] == "c" and claims["scope"] == "notices:read"


def test_header_audience_list_and_clock_skew(engine: Engine, sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, key_encryption_key=Fernet.generate_key().decode())
    ensure_signing_key(engine, settings)
    ring = load_keyring(engine, settings)
    now = time.time()
    body = issue_access_token(ring, client_id="c", scopes=[], settings=settings, now=now - 600 - 20)
    token = body["access_token"]
    verify_access_token(token, ring, settings=settings)  # 20 s past exp: inside the 30 s skew
    with pytest.raises(TokenRejected):
        verify_access_token(token, ring, settings=settings, now=now + 15)
    assert jws.extract_compact(token.encode()).headers() == {
        "alg": "RS256",
        "typ": "at+jwt",
        "kid": ring.signer_kid,
    }
    claims = verify_access_token(token, ring, settings=settings)
    head = {"alg": "RS256", "typ": "at+jwt", "kid": ring.signer_kid}
    ours = {**claims, "exp": int(now) + 60, "aud": ["https://other.example", claims["aud"]]}
    verify_access_token(jwt.encode(head, ours, ring.signer, algorithms=["RS256"]), ring, settings=settings)
    theirs = {**ours, "aud": ["https://other.example"]}
    with pytest.raises(TokenRejected):
        verify_access_token(
            jwt.encode(head, theirs, ring.signer, algorithms=["RS256"]), ring, settings=settings
        )
