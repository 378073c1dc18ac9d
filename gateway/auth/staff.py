"""Staff accounts: people of a village, a township or the audit office signing in to the HTML consoles.

A staff account is an OAuth client (department, region, scopes: the same model as a department
system) without a machine secret, so the token endpoint never issues it a token. It signs in with two
factors, as MLPS 2.0 level 3 asks: a password (argon2id) and a TOTP code (RFC 6238, 6 digits, 30 s).
The operator provisions it with `gateway clients create-staff`, which prints the password and the
TOTP secret (an otpauth:// URI for an authenticator app) once.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth import clients
from gateway.auth.clients import ClientRecord, RegistryError, record_of_row
from store.tables import table_of
from store.tables.auth import SignInLockRow, StaffCredentialRow

STAFF = table_of(StaffCredentialRow)
LOCKS = table_of(SignInLockRow)
ISSUER = "乡治 Xiangzhi"
# No 0/O, 1/l/I: a password read aloud or copied from paper survives. 16 of 31 symbols: ~79 bits.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class StaffSecrets:
    """What the operator hands to the person, once: the password and the TOTP secret."""

    password: str
    totp_secret: str

    def otpauth_uri(self, account: str) -> str:
        """Return the otpauth:// URI an authenticator app scans (Google Authenticator key URI format)."""
        return pyotp.TOTP(self.totp_secret).provisioning_uri(name=account, issuer_name=ISSUER)


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """A staff account as stored: its client record and its sign-in factors."""

    client: ClientRecord
    password_hash: str
    totp_secret: str
    totp_last_step: int


def _new_secrets() -> StaffSecrets:
    words = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4)]
    return StaffSecrets(password="-".join(words), totp_secret=pyotp.random_base32())


def create_staff(
    engine: Engine,
    *,
    client_id: str,
    name: str,
    department: str,
    region_code: str | None,
    scopes: list[str],
) -> tuple[ClientRecord, StaffSecrets]:
    """Register a staff account; return it and its password and TOTP secret (shown this once)."""
    record, _ = clients.create_client(
        engine,
        name=name,
        department=department,
        subsystem="staff",
        scopes=scopes,
        region_code=region_code,
        client_id=client_id,
        human=True,
    )
    issued = _new_secrets()
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            STAFF.insert().values(
                client_id=record.client_id,
                password_hash=clients.hash_secret(issued.password),
                totp_secret=issued.totp_secret,
                totp_last_step=0,
                created_at=now,
                updated_at=now,
            )
        )
    return record, issued


def reset_staff(engine: Engine, client_id: str) -> tuple[ClientRecord, StaffSecrets]:
    """Give a staff account a new password and TOTP secret, end its sessions and lift its lock."""
    issued = _new_secrets()
    with engine.begin() as conn:
        done = conn.execute(
            update(STAFF)
            .where(STAFF.c.client_id == client_id)
            .values(
                password_hash=clients.hash_secret(issued.password),
                totp_secret=issued.totp_secret,
                totp_last_step=0,
                updated_at=dt.datetime.now(dt.UTC),
            )
        )
        if done.rowcount == 0:
            raise RegistryError(f"no staff account {client_id}")
        conn.execute(delete(LOCKS).where(LOCKS.c.key == f"account:{client_id}"))
    # A new generation ends every open session of the account (gateway/web/sessions.py).
    return clients.revoke_tokens(engine, client_id), issued


async def load(engine: AsyncEngine, client_id: str) -> StaffAccount | None:
    """Return the staff account named `client_id`, or None (no such client, or not a person)."""
    stmt = (
        select(clients.CLIENTS, STAFF.c.password_hash, STAFF.c.totp_secret, STAFF.c.totp_last_step)
        .join(STAFF, STAFF.c.client_id == clients.CLIENTS.c.client_id)
        .where(clients.CLIENTS.c.client_id == client_id)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        return None
    return StaffAccount(
        client=record_of_row(row),
        password_hash=row["password_hash"],
        totp_secret=row["totp_secret"],
        totp_last_step=int(row["totp_last_step"]),
    )


def totp_step(secret: str, code: str, *, now: dt.datetime, after: int) -> int | None:
    """Return the time step `code` is valid for (this one or a neighbour, for clock drift), or None.

    Steps up to `after` were used already: a code is accepted once (RFC 6238 §5.2).
    """
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    code = code.strip().replace(" ", "")
    found = None
    for step in (current - 1, current, current + 1):  # compare all three: the same work either way
        if hmac.compare_digest(totp.generate_otp(step), code) and step > after:
            found = step
    return found


async def spend_step(engine: AsyncEngine, client_id: str, step: int) -> bool:
    """Record `step` as used; False when it (or a later one) was used meanwhile (a replayed code)."""
    async with engine.begin() as conn:
        done = await conn.execute(
            update(STAFF)
            .where(STAFF.c.client_id == client_id, STAFF.c.totp_last_step < step)
            .values(totp_last_step=step)
        )
    return bool(done.rowcount == 1)
