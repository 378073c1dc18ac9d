"""Settings from the environment: every setting is `GATEWAY_*` (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process configuration; read once, passed explicitly, never a module global."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/gateway.db",
        description="SQLAlchemy URL of the store: sqlite:///PATH (default) or postgresql://user:pw@host/db.",
    )
    db_pool_size: int = Field(default=16, ge=1, description="Connections per process (sized to concurrency).")
    host: str = Field(default="127.0.0.1", description="Bind address; loopback unless an operator opens it.")
    port: int = Field(default=8000, ge=1, le=65535)
    sources_config: Path = Field(default=Path("sources.yaml"), description="Connector source settings file.")
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings of this process (read from the environment once)."""
    return Settings()
