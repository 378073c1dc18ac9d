"""The client registry: every query on oauth_client; secrets only as argon2 hashes (GB/T 39786 §8.1.4)."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from gateway.auth.scopes import mixed_roles, unknown_scopes
from schemas.time import as_utc
from store.tables import table_of
from store.tables.auth import OAuthClientRow

CLIENTS = table_of(OAuthClientRow)
# OWASP's argon2id profile (m=19 MiB, t=2, p=1): secrets are 256-bit random, so the hash guards a
# leaked table, not a guessable password; RFC 9106's 64 MiB profile cost ~350 ms per token request here.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class AuthMethod(StrEnum):
    """How a client authenticates at the token endpoint (RFC 7591 §2 token_endpoint_auth_method)."""

    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name, not a secret)
    CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105 (a method name, not a secret)
    PRIVATE_KEY_JWT = "private_key_jwt"


class ClientStatus(StrEnum):
    """Whether a client may obtain and use tokens."""

    ACTIVE = "active"
    DISABLED = "disabled"


class RegistryError(ValueError):
    """A registration request is not acceptable (unknown scope, bad JWKS, no such client)."""


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A registered client as stored, without its secret."""

    client_id: str
    name: str
    department: str
    subsystem: str
    region_code: str | None
    scopes: tuple[str, ...]
    auth_method: AuthMethod
    status: ClientStatus
    created_at: dt.datetime
    rotated_at: dt.datetime | None
    jwks: dict[str, Any] | None
    secret_hash: str | None
    generation: int = 0

    @property
    def active(self) -> bool:
        """Tell whether the client may obtain and use tokens."""
        return self.status is ClientStatus.ACTIVE

    def public_view(self) -> dict[str, Any]:
        """Return the JSON-ready description shown by the CLI and the admin API (never the hash)."""
        return {
            "client_id": self.client_id,
            "name": self.name,
            "department": self.department,
            "subsystem": self.subsystem,
            "region_code": self.region_code,
            "scopes": list(self.scopes),
            "auth_method": self.auth_method.value,
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
            "rotated_at": self.rotated_at.isoformat() if self.rotated_at else None,
            "jwks": self.jwks,
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record_of_row(row: Any) -> ClientRecord:
    """Build a ClientRecord from an oauth_client row mapping."""
    created = as_utc(row["created_at"])
    assert created is not None
    return ClientRecord(
        client_id=row["client_id"],
        name=row["name"],
        department=row["department"],
        subsystem=row["subsystem"],
        region_code=row["region_code"],
        scopes=tuple(row["scopes"].split()),
        auth_method=AuthMethod(row["auth_method"]),
        status=ClientStatus(row["status"]),
        created_at=created,
        rotated_at=as_utc(row["rotated_at"]),
        jwks=json.loads(row["jwks"]) if row["jwks"] else None,
        secret_hash=row["secret_hash"],
        generation=int(row.get("token_generation") or 0),
    )


def hash_secret(secret: str) -> str:
    """Hash a client secret with argon2id (the only form it is stored in)."""
    return _HASHER.hash(secret)


# Verified against when a client has no secret or does not exist, so every refusal costs the same argon2
# work: the token endpoint's timing does not tell which client ids exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(32))


def verify_secret(record: ClientRecord | None, secret: str) -> bool:
    """Tell whether `secret` matches the client's stored hash; the same work for unknown clients."""
    ok = verify_against(record.secret_hash if record else None, secret)
    return ok and record is not None and record.secret_hash is not None


def verify_against(secret_hash: str | None, secret: str) -> bool:
    """Run one argon2 verification (against a dummy hash when there is none); tell whether it matched."""
    try:
        return _HASHER.verify(secret_hash or _DUMMY_HASH, secret)
    except (VerificationError, InvalidHashError):
        return False


def _check_jwks(jwks: dict[str, Any]) -> None:
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise RegistryError(f"the JWKS is not valid: {exc}") from exc
    for key in keys:
        if key.is_private:
            raise RegistryError("register public keys only: the JWKS holds a private key")
        if key.key_type == "oct":
            raise RegistryError("private_key_jwt needs asymmetric keys (RFC 7523 §2.2)")


_CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{1,63}")


def create_client(
    engine: Engine,
    *,
    name: str,
    department: str,
    subsystem: str,
    scopes: list[str],
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC,
    region_code: str | None = None,
    jwks: dict[str, Any] | None = None,
    client_id: str | None = None,
    human: bool = False,
) -> tuple[ClientRecord, str | None]:
    """Register a client; return it and its secret, which is shown this once and never stored.

    A `human` client (a staff account, gateway/auth/staff.py) gets no secret: it signs in to the HTML
    consoles with a password and a TOTP code and never obtains a token.
    """
    if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
        raise RegistryError("a client id is 2-64 of a-z, 0-9, '-' and '_'")
    if bad := unknown_scopes(scopes):
        raise RegistryError(f"unknown scopes: {', '.join(bad)}")
    if mixed := mixed_roles(scopes):
        raise RegistryError(mixed)
    secret: str | None = None
    secret_hash: str | None = None
    if auth_method is AuthMethod.PRIVATE_KEY_JWT:
        if not jwks:
            raise RegistryError("private_key_jwt clients must register their public JWKS")
        _check_jwks(jwks)
    elif jwks:
        raise RegistryError("a JWKS is only registered for private_key_jwt clients")
    elif not human:
        secret = secrets.token_urlsafe(32)
        secret_hash = hash_secret(secret)
    now = _now()
    # An operator may name a client (policies grant to names); otherwise an unguessable id.
    client_id = client_id or f"xz-{department.lower()}-{secrets.token_hex(6)}"
    values = {
        "client_id": client_id,
        "name": name,
        "department": department,
        "subsystem": subsystem,
        "region_code": region_code,
        "scopes": " ".join(dict.fromkeys(scopes)),
        "auth_method": auth_method.value,
        "secret_hash": secret_hash,
        "jwks": json.dumps(jwks) if jwks else None,
        "status": ClientStatus.ACTIVE.value,
        "created_at": now,
        "rotated_at": None,
        "updated_at": now,
        "token_generation": 0,
    }
    try:
        with engine.begin() as conn:
            conn.execute(CLIENTS.insert().values(**values))
    except IntegrityError as exc:
        raise RegistryError(f"client id {client_id} is taken") from exc
    return record_of_row(values), secret


def create_peer_client(
    engine: Engine, client_id: str, *, name: str, jwks: dict[str, Any], region_code: str | None = None
) -> ClientRecord:
    """Register a peer gateway as a private_key_jwt federation client that reads residents."""
    record, _ = create_client(
        engine,
        name=name,
        department="federation",
        subsystem=client_id,
        scopes=["residents:read"],
        auth_method=AuthMethod.PRIVATE_KEY_JWT,
        region_code=region_code,
        jwks=jwks,
        client_id=client_id,
    )
    return record


def get_client(engine: Engine, client_id: str) -> ClientRecord | None:
    """Return a client by id, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(CLIENTS).where(CLIENTS.c.client_id == client_id)).mappings().first()
    return record_of_row(row) if row else None


def list_clients(engine: Engine, *, department: str | None = None) -> list[ClientRecord]:
    """Return every client (of one department), ordered by id."""
    stmt = select(CLIENTS).order_by(CLIENTS.c.client_id)
    if department:
        stmt = stmt.where(CLIENTS.c.department == department)
    with engine.connect() as conn:
        return [record_of_row(r) for r in conn.execute(stmt).mappings()]


def set_status(engine: Engine, client_id: str, *, status: ClientStatus) -> ClientRecord:
    """Enable or disable a client; disabling revokes its tokens for good (enabling does not revive them)."""
    values: dict[str, Any] = {"status": status.value, "updated_at": _now()}
    if status is ClientStatus.DISABLED:
        values["token_generation"] = CLIENTS.c.token_generation + 1
    with engine.begin() as conn:
        done = conn.execute(update(CLIENTS).where(CLIENTS.c.client_id == client_id).values(**values))
    if done.rowcount == 0:
        raise RegistryError(f"no client {client_id}")
    found = get_client(engine, client_id)
    assert found is not None
    return found


def revoke_tokens(engine: Engine, client_id: str) -> ClientRecord:
    """Revoke every token a client holds now (a compromised key or secret); new ones can be obtained."""
    with engine.begin() as conn:
        done = conn.execute(
            update(CLIENTS)
            .where(CLIENTS.c.client_id == client_id)
            .values(token_generation=CLIENTS.c.token_generation + 1, updated_at=_now())
        )
    if done.rowcount == 0:
        raise RegistryError(f"no client {client_id}")
    found = get_client(engine, client_id)
    assert found is not None
    return found


def rotate_secret(engine: Engine, client_id: str) -> tuple[ClientRecord, str]:
    """Replace a secret client's secret; return the new secret (shown once)."""
    found = get_client(engine, client_id)
    if found is None:
        raise RegistryError(f"no client {client_id}")
    if found.auth_method is AuthMethod.PRIVATE_KEY_JWT:
        raise RegistryError("a private_key_jwt client has no secret: register a new JWKS instead")
    if found.secret_hash is None:
        raise RegistryError("a staff account has no machine secret: gateway clients reset-staff")
    secret = secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            update(CLIENTS)
            .where(CLIENTS.c.client_id == client_id)
            .values(
                secret_hash=hash_secret(secret),
                rotated_at=now,
                updated_at=now,
                token_generation=CLIENTS.c.token_generation + 1,  # tokens of the old secret stop working
            )
        )
    rotated = get_client(engine, client_id)
    assert rotated is not None
    return rotated, secret
