"""The typed state of a running app: its configuration (create_app) and what its lifespan started.

Dependencies and middleware read these two objects instead of loose `app.state` attributes; the types
are imported for checking only, so any module may import this one without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection
from starlette.types import Scope

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine

    from gateway.audit.writer import AuditWriter
    from gateway.auth.runtime import AuthState
    from gateway.federation.service import FederationState
    from gateway.ingest.service import IngestRuntime
    from gateway.metrics import Metrics
    from gateway.policy.state import PolicyState
    from gateway.settings import Settings
    from store.read import ReadStore


@dataclass(frozen=True, slots=True, kw_only=True)
class LegalControls:
    """Audit and policy enforcement: always on; only a benchmark's own factory builds one with either off.

    Neither is a setting: no environment variable, file or CLI option of a deployment reaches this
    (MLPS 2.0 8.1.4.3, PIPL Art. 51); bench/apps.py passes it in code to measure what each costs.
    """

    audit: bool = True
    policy: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class AppConfig:
    """What create_app was given: settings, legal controls, and providers a test may pass in."""

    settings: Settings
    controls: LegalControls
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Runtime:
    """What the lifespan started, each closed by it in reverse order (gateway/lifespan.py)."""

    settings: Settings
    tracer: Tracer
    metrics: Metrics
    engine: AsyncEngine
    read_store: ReadStore
    auth: AuthState
    policy: PolicyState
    audit_writer: AuditWriter | None
    federation: FederationState
    ingest: IngestRuntime


def config_of(app: Any) -> AppConfig:
    """Return the configuration an app was created with."""
    config: AppConfig = app.state.config
    return config


def runtime_of(conn: HTTPConnection) -> Runtime:
    """Return the runtime of the app serving a request (started: routes run only after the lifespan)."""
    runtime: Runtime = conn.app.state.runtime
    return runtime


def runtime_in(scope: Scope) -> Runtime | None:
    """Return the runtime of the app of an ASGI scope, or None before the lifespan started it."""
    found: Runtime | None = getattr(scope["app"].state, "runtime", None)
    return found
