"""Token signing keys: generated, encrypted at rest (Fernet), rotated, published as a JWKS (RFC 7517)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from joserfc import jwk
from sqlalchemy import Connection, Engine, select, text, update

from gateway.settings import Settings
from schemas.time import as_utc
from store.tables import table_of
from store.tables.auth import OAuthSigningKeyRow

log = logging.getLogger(__name__)
KEYS = table_of(OAuthSigningKeyRow)
# Asymmetric only: a resource server must never accept an HMAC token (RFC 8725 §3.1, alg confusion).
ASYMMETRIC_ALGS = frozenset({"RS256", "ES256", "EdDSA"})

AnyKey = jwk.RSAKey | jwk.ECKey | jwk.OKPKey


class KeyConfigError(RuntimeError):
    """Keys cannot be loaded: no encryption key, a wrong one, or a key file that is unsafe."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The keys of this process: one signer and every public key still published."""

    signer_kid: str | None
    signer_alg: str | None
    signer: AnyKey | None
    public: dict[str, tuple[str, AnyKey]] = field(default_factory=dict)  # kid -> (alg, key)
    jwks: dict[str, Any] = field(default_factory=dict)
    version: tuple[tuple[str, str], ...] = ()
    next_expiry: float | None = None  # epoch when a retired key leaves the JWKS (reload then)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def generate_key(alg: str) -> AnyKey:
    """Generate a private key for a JWS algorithm."""
    if alg == "RS256":
        return jwk.RSAKey.generate_key(2048, private=True)  # NIST SP 800-57: 112-bit strength to 2030
    if alg == "ES256":
        return jwk.ECKey.generate_key("P-256", private=True)
    if alg == "EdDSA":
        return jwk.OKPKey.generate_key("Ed25519", private=True)
    raise KeyConfigError(f"unsupported signing algorithm {alg!r}")


def public_jwk(key: AnyKey, *, alg: str, kid: str) -> dict[str, Any]:
    """Return the public JWK of a key with its kid, alg and use."""
    data = dict(key.as_dict(private=False))
    data.update({"kid": kid, "alg": alg, "use": "sig"})
    return data


def key_encryption(settings: Settings) -> Fernet:
    """Return the Fernet that encrypts private keys: from the environment, else a loud dev key file."""
    try:
        return Fernet(key_encryption_secret(settings))
    except ValueError as exc:
        raise KeyConfigError(
            "GATEWAY_KEY_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64 bytes)"
        ) from exc


def key_encryption_secret(settings: Settings) -> bytes:
    """Return the key-encryption key: from the environment, else a loud dev key file (made 0600 once)."""
    if settings.key_encryption_key is not None:
        return settings.key_encryption_key.get_secret_value().encode()
    path = settings.key_encryption_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL + 0600: never clobber an existing key, never world-readable (GB/T 22239 8.1.4.7).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
        _loud(f"GATEWAY_KEY_ENCRYPTION_KEY is unset: generated a DEVELOPMENT key-encryption key at {path}")
    else:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeyConfigError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        _loud(f"GATEWAY_KEY_ENCRYPTION_KEY is unset: using the DEVELOPMENT key file {path}")
    return path.read_bytes().strip()


def cursor_secret(settings: Settings) -> bytes:
    """Return the secret cursors are signed from: GATEWAY_CURSOR_KEY, else the key-encryption key."""
    if settings.cursor_key is not None:
        return settings.cursor_key.get_secret_value().encode()
    return key_encryption_secret(settings)


def _loud(message: str) -> None:
    # Dev defaults must never be silent: log it and put it on stderr where an operator looks.
    log.warning("%s; set GATEWAY_KEY_ENCRYPTION_KEY in production", message)
    print(f"WARNING: {message}; set GATEWAY_KEY_ENCRYPTION_KEY in production", file=sys.stderr)


def _load_key_file(path: Path) -> AnyKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyConfigError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    key = jwk.import_key(path.read_bytes())
    if not isinstance(key, jwk.RSAKey | jwk.ECKey | jwk.OKPKey) or not key.is_private:
        raise KeyConfigError(f"{path} must hold an asymmetric private key (PEM)")
    return key


def _alg_of(key: AnyKey) -> str:
    if isinstance(key, jwk.RSAKey):
        return "RS256"
    if isinstance(key, jwk.ECKey):
        return "ES256"
    return "EdDSA"


KEYS_LOCK = 0x787A_6B65  # "xzke": the advisory lock a PostgreSQL store's key writers take


def _lock_keys(conn: Connection) -> None:
    """Serialise key writers across replicas: the first statement of the transaction takes the lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": KEYS_LOCK})
    else:
        # SQLite: a write as the first statement takes the database write lock before anything is read.
        conn.execute(update(KEYS).where(KEYS.c.kid.is_(None)).values(kid=KEYS.c.kid))


def _new_key_row(settings: Settings, alg: str) -> tuple[str, dict[str, Any]]:
    key = generate_key(alg)
    kid = key.thumbprint()  # RFC 7638: a stable, collision-free kid
    private = key_encryption(settings).encrypt(json.dumps(key.as_dict(private=True)).encode()).decode()
    values = {
        "kid": kid,
        "alg": alg,
        "public_jwk": json.dumps(public_jwk(key, alg=alg, kid=kid)),
        "private_enc": private,
    }
    return kid, values


def rotate_key(engine: Engine, settings: Settings, *, alg: str | None = None, first: bool = False) -> str:
    """Add a new signing key and sign with it; older keys stay published until their tokens expire.

    With `first`, only when the store has no signer: replicas starting together on a fresh store
    create one key between them (the others adopt it), under the store's lock.
    """
    if settings.signing_key_file is not None:
        raise KeyConfigError("keys come from GATEWAY_SIGNING_KEY_FILE: replace that file to rotate")
    alg = alg or settings.signing_alg
    kid, values = _new_key_row(settings, alg)  # generated outside the lock: it takes a while
    now = _now()
    # A retired key verifies tokens for their whole lifetime plus the skew (RFC 9068 §4 step 5).
    until = now + dt.timedelta(seconds=settings.token_ttl_seconds + settings.token_clock_skew_seconds)
    with engine.begin() as conn:
        _lock_keys(conn)
        if first:
            current = conn.execute(select(KEYS.c.kid).where(KEYS.c.retired_at.is_(None))).first()
            if current is not None:
                return str(current[0])  # another replica won: adopt its key
        conn.execute(
            update(KEYS).where(KEYS.c.retired_at.is_(None)).values(retired_at=now, publish_until=until)
        )
        conn.execute(KEYS.insert().values(**values, created_at=now))
    return kid


def ensure_signing_key(engine: Engine, settings: Settings) -> None:
    """Make sure a signer exists: register the key file's public half, or create a first store key."""
    with engine.connect() as conn:
        rows = conn.execute(select(KEYS.c.kid).where(KEYS.c.retired_at.is_(None))).all()
    current = {r[0] for r in rows}
    if settings.signing_key_file is None:
        if not current:
            kid = rotate_key(engine, settings, first=True)
            log.warning("no signing key in the store: using %s", kid)
        return
    key = _load_key_file(settings.signing_key_file)
    alg = _alg_of(key)
    kid = key.thumbprint()
    if current == {kid}:
        return
    now = _now()
    until = now + dt.timedelta(seconds=settings.token_ttl_seconds + settings.token_clock_skew_seconds)
    with engine.begin() as conn:
        # The public half goes to the store so replicas keep publishing it after the file is replaced.
        conn.execute(
            update(KEYS)
            .where(KEYS.c.retired_at.is_(None), KEYS.c.kid != kid)
            .values(retired_at=now, publish_until=until)
        )
        if kid not in current:
            conn.execute(
                KEYS.insert().values(
                    kid=kid,
                    alg=alg,
                    public_jwk=json.dumps(public_jwk(key, alg=alg, kid=kid)),
                    private_enc=None,
                    created_at=now,
                )
            )


def key_version(rows: list[Any]) -> tuple[tuple[str, str], ...]:
    """Return a comparable fingerprint of the key table: (kid, retired_at) pairs."""
    return tuple(sorted((str(r[0]), str(r[1])) for r in rows))


def load_keyring(engine: Engine, settings: Settings) -> KeyRing:
    """Load the signer and the published public keys from the store (and the key file, if any)."""
    now = _now()
    with engine.connect() as conn:
        rows = conn.execute(select(KEYS).order_by(KEYS.c.created_at.desc(), KEYS.c.kid)).mappings().all()
    version = key_version([(r["kid"], r["retired_at"]) for r in rows])
    public: dict[str, tuple[str, AnyKey]] = {}
    published: list[dict[str, Any]] = []
    signer: AnyKey | None = None
    signer_kid: str | None = None
    signer_alg: str | None = None
    file_key = _load_key_file(settings.signing_key_file) if settings.signing_key_file else None
    fernet: Fernet | None = None
    next_expiry: float | None = None
    for row in rows:
        until = as_utc(row["publish_until"])
        if row["retired_at"] is not None and (until is None or until <= now):
            continue
        if until is not None:
            next_expiry = min(next_expiry or until.timestamp(), until.timestamp())
        if row["alg"] not in ASYMMETRIC_ALGS:
            continue
        data = json.loads(row["public_jwk"])
        key = jwk.import_key(data)
        assert isinstance(key, jwk.RSAKey | jwk.ECKey | jwk.OKPKey)
        public[row["kid"]] = (row["alg"], key)
        published.append(data)
        if signer is None and row["retired_at"] is None:
            if file_key is not None and file_key.thumbprint() == row["kid"]:
                signer = file_key
            elif row["private_enc"] and file_key is None:
                fernet = fernet or key_encryption(settings)
                try:
                    plain = fernet.decrypt(row["private_enc"].encode())
                except InvalidToken as exc:
                    raise KeyConfigError(
                        f"cannot decrypt signing key {row['kid']}: wrong GATEWAY_KEY_ENCRYPTION_KEY"
                    ) from exc
                loaded = jwk.import_key(json.loads(plain))
                assert isinstance(loaded, jwk.RSAKey | jwk.ECKey | jwk.OKPKey)
                signer = loaded
            if signer is not None:
                signer_kid, signer_alg = row["kid"], row["alg"]
    return KeyRing(
        signer_kid=signer_kid,
        signer_alg=signer_alg,
        signer=signer,
        public=public,
        jwks={"keys": published},
        version=version,
        next_expiry=next_expiry,
    )
