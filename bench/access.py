"""Credentials for rows that go the full path: a registered client, a real signed token, a purpose.

The token is minted with the store's own signing key (the server loads the same key), so the load
tool sends one bearer token, as a department system reusing its token would. The policy is the
shipped one with its rate limits raised: the bench measures the path, not the limiter refusing it.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.scenarios import Fixture
from gateway.auth.clients import create_client, get_client
from gateway.auth.keys import ensure_signing_key, load_keyring
from gateway.auth.tokens import issue_access_token
from gateway.pagination import set_cursor_key
from gateway.settings import Settings
from store.engines import make_sync_engine

CLIENT_ID = "bench-civil-affairs"
PURPOSE = "social-assistance-review"
PUBLIC_URL = "http://127.0.0.1:8000"
SCOPES = ["residents:read", "residents.sensitive:read", "households:read"]
POLICIES = Path(__file__).resolve().parents[1] / "policies" / "default"


def _files(fx: Fixture) -> tuple[str, Path, Path]:
    base = fx.work_dir / "access"
    base.mkdir(parents=True, exist_ok=True)
    kek_file = base / "kek"
    if not kek_file.exists():
        kek_file.write_text(Fernet.generate_key().decode())
    audit_key = base / "audit-key.pem"
    if not audit_key.exists():
        audit_key.write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    policy_dir = lifted_policy(base / "policies", [CLIENT_ID], records_per_day=1_000_000_000)
    return kek_file.read_text().strip(), audit_key, policy_dir


def lifted_policy(directory: Path, clients: Sequence[str], *, records_per_day: int) -> Path:
    """Copy the shipped policy to `directory` (once) with the rate limits of `clients` lifted; return it."""
    if not directory.exists():
        shutil.copytree(POLICIES, directory)
        limits = directory / "rate_limits.yaml"
        doc = yaml.safe_load(limits.read_text(encoding="utf-8"))
        lifted = {"requests_per_minute": 10_000_000, "records_per_day": records_per_day}
        doc["limits"] = [*({"client": c, **lifted} for c in clients), *doc.get("limits", [])]
        limits.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return directory


def full_path_env(fx: Fixture) -> dict[str, str]:
    """Return the server environment of a full-path row (keys, policy, audit key)."""
    kek, audit_key, policy_dir = _files(fx)
    return {
        "GATEWAY_KEY_ENCRYPTION_KEY": kek,
        "GATEWAY_AUDIT_KEY_FILE": str(audit_key),
        "GATEWAY_POLICY_DIR": str(policy_dir),
        "GATEWAY_PUBLIC_URL": PUBLIC_URL,
    }


def full_path_headers(fx: Fixture) -> dict[str, str]:
    """Register the bench client (once) and return a bearer token and purpose for it."""
    assert fx.database_url is not None
    kek, _, _ = _files(fx)
    settings = Settings(
        database_url=fx.database_url, key_encryption_key=kek, public_url=PUBLIC_URL, token_ttl_seconds=86400
    )
    engine = make_sync_engine(fx.database_url)
    try:
        if get_client(engine, CLIENT_ID) is None:
            create_client(
                engine,
                name="bench",
                department="civil_affairs",
                subsystem="bench",
                scopes=SCOPES,
                region_code="511599000000",
                client_id=CLIENT_ID,
            )
        ensure_signing_key(engine, settings)
        keyring = load_keyring(engine, settings)
    finally:
        engine.dispose()
    token = issue_access_token(keyring, client_id=CLIENT_ID, scopes=SCOPES, settings=settings)["access_token"]
    return {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}


def sign_cursors(fx: Fixture) -> None:
    """Sign cursors with the key the server derives from the same key-encryption key (they are signed)."""
    set_cursor_key(full_path_env(fx)["GATEWAY_KEY_ENCRYPTION_KEY"].encode())


def with_env(extra: dict[str, str]):
    """Return an env callable: the full-path environment plus `extra`."""

    def env(fx: Fixture) -> dict[str, str]:
        return {**full_path_env(fx), **extra}

    return env
