"""Tables of the OAuth server: clients, signing keys, revoked tokens and used client assertions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from store.tables.base import TS


class OAuthClientRow(SQLModel, table=True):
    """A registered client (a department's subsystem); its secret is kept only as an argon2 hash."""

    __tablename__ = "oauth_client"

    client_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    department: str = Field(index=True, max_length=32)
    subsystem: str = Field(max_length=64)
    region_code: str | None = Field(default=None, max_length=12)
    scopes: str = Field(sa_column=Column(Text, nullable=False))  # space-delimited (RFC 6749 §3.3)
    auth_method: str = Field(max_length=32)
    secret_hash: str | None = Field(default=None, sa_column=Column(Text))
    jwks: str | None = Field(default=None, sa_column=Column(Text))  # public JWKS for private_key_jwt
    status: str = Field(max_length=16, index=True)
    created_at: dt.datetime = Field(sa_type=TS)
    rotated_at: dt.datetime | None = Field(default=None, sa_type=TS)
    updated_at: dt.datetime = Field(sa_type=TS)
    # In every access token as `gen`; rotate-secret and disable bump it, so older tokens stop working
    # (re-enabling keeps the new value: the old tokens stay dead).
    token_generation: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class OAuthSigningKeyRow(SQLModel, table=True):
    """A token signing key: public JWK, private key encrypted (absent for key-file keys)."""

    __tablename__ = "oauth_signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    public_jwk: str = Field(sa_column=Column(Text, nullable=False))
    private_enc: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime = Field(sa_type=TS)
    retired_at: dt.datetime | None = Field(default=None, sa_type=TS)
    publish_until: dt.datetime | None = Field(default=None, sa_type=TS)


class OAuthRevokedTokenRow(SQLModel, table=True):
    """A revoked access token, kept until its own expiry (RFC 7009 §2)."""

    __tablename__ = "oauth_revoked_token"
    __table_args__ = (Index("ix_oauth_revoked_token_expires", "expires_at"),)

    jti: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64)
    expires_at: dt.datetime = Field(sa_type=TS)
    revoked_at: dt.datetime = Field(sa_type=TS)


class OAuthUsedAssertionRow(SQLModel, table=True):
    """A client assertion's jti, kept until its exp so it cannot be replayed (RFC 7523 §3 item 7)."""

    __tablename__ = "oauth_used_assertion"
    __table_args__ = (Index("ix_oauth_used_assertion_expires", "expires_at"),)

    client_id: str = Field(primary_key=True, max_length=64)
    jti: str = Field(primary_key=True, max_length=255)
    expires_at: dt.datetime = Field(sa_type=TS)


class StaffCredentialRow(SQLModel, table=True):
    """A staff account's sign-in factors: an argon2 password hash and an RFC 6238 TOTP secret.

    The account itself is an oauth_client row without a machine secret (region, department, scopes).
    """

    __tablename__ = "staff_credential"

    client_id: str = Field(primary_key=True, max_length=64, foreign_key="oauth_client.client_id")
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    totp_secret: str = Field(max_length=64)
    # The last TOTP time step accepted: a code is never accepted twice (RFC 6238 §5.2).
    totp_last_step: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    created_at: dt.datetime = Field(sa_type=TS)
    updated_at: dt.datetime = Field(sa_type=TS)


class SignInLockRow(SQLModel, table=True):
    """Failed human sign-ins of an account or an address; 5 within 15 minutes lock it for 15 minutes."""

    __tablename__ = "signin_lock"

    key: str = Field(primary_key=True, max_length=200)  # "account:<id>" or "address:<ip>"
    failures: int = Field(default=0)
    first_failure_at: dt.datetime = Field(sa_type=TS)
    locked_until: dt.datetime | None = Field(default=None, sa_type=TS)


class WebSessionRow(SQLModel, table=True):
    """A signed-in person on an HTML console: ends after 15 idle minutes, at sign-out, or when the
    account is disabled or reset (its token generation moves on)."""

    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_client", "client_id"),)

    id: str = Field(primary_key=True, max_length=32)  # public: the audit events' token_id
    secret_hash: str = Field(max_length=64)  # SHA-256 of the cookie's secret half
    client_id: str = Field(max_length=64)
    site: str = Field(max_length=16)  # "dashboard" or "console"
    address: str | None = Field(default=None, max_length=64)
    generation: int = Field(default=0)
    created_at: dt.datetime = Field(sa_type=TS)
    last_seen_at: dt.datetime = Field(sa_type=TS)
