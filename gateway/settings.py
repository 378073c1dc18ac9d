"""Settings from the environment: every setting is `GATEWAY_*` (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Process configuration; read once, passed explicitly, never a module global."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/gateway.db",
        description="SQLAlchemy URL of the store: sqlite:///PATH (default) or postgresql://user:pw@host/db.",
    )
    db_pool_size: int = Field(default=16, ge=1, description="Connections per process (sized to concurrency).")
    # Failure model (docs/operations.md): every store path fails fast, as 503 + Retry-After, never hangs.
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, le=120, description="Time to open a connection to the store."
    )
    db_statement_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="Longest statement of a request (reads, limiter, refreshers).",
    )
    db_lock_timeout_seconds: float = Field(
        default=3.0, gt=0, le=600, description="Longest wait for a row or table lock on a request path."
    )
    audit_commit_timeout_seconds: float = Field(
        default=3.0,
        gt=0,
        le=120,
        description="Longest wait for the audit lock, head row or commit; beyond it requests get 503.",
    )
    audit_idle_session_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="PostgreSQL ends an audit session idle in a transaction this long (frozen holder).",
    )
    drain_grace_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="At SIGTERM, keep open connections this long to answer requests already sent on them.",
    )
    host: str = Field(default="127.0.0.1", description="Bind address; loopback unless an operator opens it.")
    port: int = Field(default=8000, ge=1, le=65535)
    sources_config: Path = Field(default=Path("sources.yaml"), description="Connector source settings file.")
    tracing_enabled: bool = Field(default=True, description="Trace requests (off only to measure its cost).")
    trace_sample_ratio: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Share of traces exported (ids are always made); OTEL_TRACES_SAMPLER wins.",
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Prometheus text endpoint port."
    )
    metrics_host: str = Field(default="127.0.0.1", description="Bind address of the Prometheus endpoint.")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL clients reach us by.")
    # Limits at the edge (gateway/limits.py): checked before authentication and before any parsing.
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body (413 beyond); push ingest has its own."
    )
    ingest_max_body_bytes: int = Field(
        default=16_777_216,
        ge=1024,
        description="Largest body of POST /v1/ingest/{source} (a batch of records).",
    )
    max_header_bytes: int = Field(
        default=16_384, ge=1024, le=1_048_576, description="Largest request line plus header fields (431)."
    )
    max_header_count: int = Field(
        default=64, ge=8, le=1000, description="Most header fields a request may send."
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Time a client has to send all header fields (408, closed)."
    )
    body_idle_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Longest pause while a request body is sent (408)."
    )
    body_timeout_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="Time a client has to send a whole request body (408)."
    )
    cursor_key: SecretStr | None = Field(
        default=None,
        description="HMAC key signing pagination cursors; default: derived from the key-encryption key, "
        "so every replica accepts the others' cursors.",
    )
    # OAuth (gateway/auth): token lifetime, clock skew, signing keys and revocation staleness.
    token_ttl_seconds: int = Field(default=600, ge=30, le=86400, description="Access token lifetime.")
    token_clock_skew_seconds: int = Field(
        default=30, ge=0, le=300, description="Leeway for exp/iat of tokens and client assertions."
    )
    assertion_max_lifetime_seconds: int = Field(
        default=300, ge=30, le=3600, description="Longest exp - iat of a client assertion (private_key_jwt)."
    )
    token_audience: str | None = Field(
        default=None, description="`aud` of access tokens; defaults to public_url (RFC 9068 §3)."
    )
    signing_alg: str = Field(default="RS256", pattern=r"^(RS256|ES256|EdDSA)$", description="JWS alg.")
    key_encryption_key: SecretStr | None = Field(
        default=None, description="Fernet key encrypting private signing keys in the store."
    )
    key_encryption_key_file: Path = Field(
        default=Path("var/key-encryption.key"),
        description="Dev fallback when GATEWAY_KEY_ENCRYPTION_KEY is unset: generated 0600, loudly.",
    )
    signing_key_file: Path | None = Field(
        default=None, description="PEM private signing key kept outside the store (replaces store keys)."
    )
    auth_refresh_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often revocations and client status are re-read."
    )
    auth_max_staleness_seconds: float = Field(
        default=3.0, gt=0, le=300, description="Older revocation data makes every request re-check the store."
    )
    # Access policy (policies/, gateway/policy): documents, refresh, sharing-request deadlines.
    policy_dir: Path | None = Field(
        default=None, description="Policy documents directory; default: the packaged policies/default."
    )
    policy_refresh_seconds: float = Field(
        default=2.0, gt=0, le=300, description="How often policy files and approval grants are re-checked."
    )
    sharing_due_working_days: int = Field(
        default=10, ge=1, le=60, description="Working days to answer a sharing request (政务数据共享条例)."
    )
    # Federation (gateway/federation): other county gateways this one asks and answers.
    federation_file: Path | None = Field(
        default=None,
        description="Federation document (members, pinned keys, who may ask whom); unset: federation off.",
    )
    # Audit log (gateway/audit): one committed event per decision before the response.
    audit_key_file: Path | None = Field(
        default=None, description="Ed25519 PEM key signing checkpoints; default: generated var/audit-key.pem."
    )
    operator: str | None = Field(
        default=None,
        max_length=128,
        description="Who runs `gateway` commands (e.g. 张伟 / staff number); recorded in the audit log "
        "with the OS user on every command that reads personal data or changes state.",
    )
    audit_witness_dir: Path | None = Field(
        default=None,
        description="Append-only directory (another volume or a mounted object store) receiving a copy "
        "of every signed checkpoint; `gateway audit verify --witness DIR` checks the store against it.",
    )
    audit_tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 time-stamp authority URL: each checkpoint is also time-stamped, the token "
        "kept beside its note in GATEWAY_AUDIT_WITNESS_DIR (which it needs).",
    )
    audit_archive_dir: Path = Field(
        default=Path("var/audit-archives"),
        description="Where `gateway audit archive` writes archives and where verify and the disclosure "
        "report look for them.",
    )
    audit_uncovered_max_events: int = Field(
        default=10_000, ge=1, description="verify fails when more events follow the last checkpoint."
    )
    audit_uncovered_max_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="verify fails when events wait longer than this after the last checkpoint was signed.",
    )
    audit_checkpoint_every: int = Field(default=1000, ge=1, description="Sign a checkpoint every N events.")
    audit_checkpoint_seconds: float = Field(
        default=60.0, gt=0, description="...or every T seconds when events are waiting for one."
    )
    audit_batch_max: int = Field(default=512, ge=1, le=10000, description="Events per group commit.")
    audit_linger_ms: float = Field(
        default=0.0, ge=0, le=50, description="Wait this long for a batch to fill (0: commit at once)."
    )
    # Consents for assisted access (gateway/consents): bounded in time (PIPL Art. 14, 15).
    consent_backdate_days: int = Field(
        default=3, ge=0, le=30, description="How many days before the record date a consent may start."
    )
    consent_max_days: int = Field(
        default=366,
        ge=1,
        le=1830,
        description="Longest period a consent may cover (days, both ends included).",
    )
    # Statistics (gateway/stats): counts from 1 to k-1 are published as "<k" (k=2 would name the value).
    stats_min_cell: int = Field(default=5, ge=3, le=100, description="Smallest count published as a number.")
    # Webhooks (gateway/subscriptions): targets must start with an operator-approved prefix (no SSRF).
    webhook_allowed_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="URL prefixes webhook targets may use, comma-separated "
        "(e.g. `https://hr.county.example/hooks/`); empty: no subscription can be created.",
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Delivery attempts before a message goes to the dead-letter list."
    )
    webhook_backoff_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Wait before the first retry; doubles with every attempt."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Time a receiver has to answer one delivery."
    )
    worker_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="How often `gateway worker` looks for new changes and due retries.",
    )

    @field_validator("webhook_allowed_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        # Operators write one comma-separated environment variable, not a JSON list.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings of this process (read from the environment once)."""
    return Settings()
