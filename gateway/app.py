"""App factory: routers, error handlers, middleware; engines are built in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from gateway import docs, health
from gateway.alerts import endpoints as alerts
from gateway.appeals import endpoints as appeals
from gateway.audit.runtime import install_audit, start_audit, stop_audit
from gateway.auth import admin as auth_admin
from gateway.auth import endpoints as oauth
from gateway.auth.keys import cursor_secret
from gateway.auth.runtime import start_auth, stop_auth
from gateway.changes import endpoints as changes
from gateway.consents import endpoints as consents
from gateway.dashboard import views as dashboard
from gateway.db import Timeouts, make_async_engine
from gateway.drain import DrainMiddleware
from gateway.enrollments import endpoints as enrollments
from gateway.errors import install_error_handlers
from gateway.federation import endpoints as federation
from gateway.federation.service import start_federation, stop_federation
from gateway.households import endpoints as households
from gateway.ingest import endpoints as ingest
from gateway.ingest.service import start_ingest, stop_ingest
from gateway.limits import EdgeMiddleware
from gateway.metrics import METER_NAME, Metrics, PrometheusEndpoint, build_meter_provider
from gateway.middleware import RequestIdMiddleware
from gateway.notices import endpoints as notices
from gateway.openapi import install_openapi
from gateway.pagination import set_cursor_key
from gateway.policy import endpoints as policy
from gateway.policy import sharing
from gateway.policy.filters import annotate_policy_routes
from gateway.policy.state import start_policy, stop_policy
from gateway.policy.throttle import RateLimitHeaders
from gateway.problems import router as problems_router
from gateway.public_services import endpoints as services
from gateway.quality import endpoints as quality
from gateway.quarantine import endpoints as quarantine
from gateway.regions import endpoints as regions
from gateway.residents import endpoints as residents
from gateway.resilience import install_outage_handler
from gateway.settings import Settings, get_settings
from gateway.stats import endpoints as stats
from gateway.store import open_read_store
from gateway.subscriptions import endpoints as subscriptions
from gateway.telemetry import TRACER_NAME, TracingMiddleware, build_tracer_provider
from policies.loader import DEFAULT_DIR as DEFAULT_POLICY_DIR

DESCRIPTION = """\
Xiangzhi Gateway (乡治) joins the records that the civil-affairs (民政), human-resources-and-social-security
(人社) and publicity (宣传) departments keep of the same residents, and serves them to department systems.

* Every error is RFC 9457 `application/problem+json`.
* Lists are cursor-paginated: follow `next` until it is null. Cursors are opaque and signed: pass
  them back unchanged (an altered one is 400 `invalid-cursor`).
* A citizen ID number never goes into a URL: use `POST /v1/residents:lookup`.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class LegalControls:
    """Audit and policy enforcement: always on; only a benchmark's own factory builds one with either off.

    Neither is a setting: no environment variable, file or CLI option of a deployment reaches this
    (MLPS 2.0 8.1.4.3, PIPL Art. 51); bench/apps.py passes it in code to measure what each costs.
    """

    audit: bool = True
    policy: bool = True


ENFORCED = LegalControls()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the engine (and later keys, clients, writers) for this process; dispose them at exit."""
    settings: Settings = app.state.settings
    owned_provider = app.state.tracer_provider is None
    provider: TracerProvider = app.state.tracer_provider or build_tracer_provider(
        sample_ratio=settings.trace_sample_ratio
    )
    app.state.tracer = provider.get_tracer(TRACER_NAME)
    prometheus = (
        PrometheusEndpoint(host=settings.metrics_host, port=settings.metrics_port)
        if settings.metrics_port
        else None
    )
    owned_meters = app.state.meter_provider is None
    meters: MeterProvider = app.state.meter_provider or build_meter_provider(
        extra_readers=[prometheus.reader] if prometheus else None
    )
    app.state.metrics = Metrics.create(meters.get_meter(METER_NAME))
    if prometheus:
        prometheus.start()
    timeouts = Timeouts.of(settings)
    app.state.engine = make_async_engine(
        settings.database_url, pool_size=settings.db_pool_size, timeouts=timeouts
    )
    app.state.read_store = await open_read_store(
        settings.database_url, pool_size=settings.db_pool_size, tracer=app.state.tracer, timeouts=timeouts
    )
    app.state.auth = await start_auth(settings, store=app.state.read_store)
    set_cursor_key(cursor_secret(settings))
    app.state.policy = await start_policy(
        directory=settings.policy_dir or DEFAULT_POLICY_DIR,
        store=app.state.engine,
        refresh_seconds=settings.policy_refresh_seconds,
        enabled=app.state.controls.policy,
    )
    app.state.federation = await start_federation(
        settings.federation_file,
        refresh_seconds=settings.policy_refresh_seconds,
        keyring=app.state.auth.current_keys,
        limiter=app.state.policy.limiter,
        public_url=settings.public_url,
        engine=app.state.auth.engine,
        leeway=settings.token_clock_skew_seconds,
        purposes=list(app.state.policy.engine.policy.purposes),
    )
    app.state.auth.server.private_key_jwt.member_keys = app.state.federation.member_keys
    app.state.audit_writer = (
        await start_audit(settings, metrics=app.state.metrics) if app.state.controls.audit else None
    )
    app.state.ingest = start_ingest(settings, metrics=app.state.metrics)
    try:
        yield
    finally:
        stop_ingest(app.state.ingest)
        await stop_federation(app.state.federation)
        await stop_audit(app.state.audit_writer)
        await stop_policy(app.state.policy)
        await stop_auth(app.state.auth)
        await app.state.read_store.close()
        await app.state.engine.dispose()
        if owned_provider:
            provider.shutdown()
        if prometheus:
            prometheus.stop()
        if owned_meters:
            meters.shutdown()


def create_app(
    settings: Settings | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    controls: LegalControls = ENFORCED,
) -> FastAPI:
    """Assemble the gateway application (tests pass their own tracer provider: the global one is set once)."""
    app = FastAPIOffline(
        title="Xiangzhi Gateway (乡治)",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,  # served by gateway.docs without its remote logo
        openapi_tags=[
            {"name": "residents", "description": "Residents (居民), one person across departments."},
            {"name": "households", "description": "Registered households (户)."},
            {
                "name": "enrollments",
                "description": "Benefit and insurance enrolments (救助与参保) of readable residents.",
            },
            {"name": "services", "description": "Public service items (服务事项) of every department."},
            {"name": "notices", "description": "Notices (公告) from the county media centre."},
            {"name": "regions", "description": "The gazetteer (行政区划)."},
            {
                "name": "changes",
                "description": "The change feed: changes to what the caller may read, resumable.",
            },
            {
                "name": "subscriptions",
                "description": "Webhooks: signed deliveries, retries, dead letters.",
            },
            {
                "name": "quarantine",
                "description": "Records held back by the connectors, for data stewards "
                "(scopes quarantine:read, quarantine:write).",
            },
            {"name": "quality", "description": "Quality feedback to each department (数据质量反馈)."},
            {
                "name": "federation",
                "description": "Other counties' gateways: ask a member under its policy (and ours); "
                "members' gateways call /v1/federated/ (docs/integrating.md, Federation).",
            },
            {"name": "health", "description": "Probes for orchestrators."},
            {"name": "oauth", "description": "OAuth 2.0 client credentials: tokens, introspection, keys."},
            {"name": "admin", "description": "Client registry administration (scope admin:clients)."},
            {
                "name": "consents",
                "description": "Residents' consents for assisted access (代办) by village agents "
                "(scopes consents:read, consents:write).",
            },
            {
                "name": "alerts",
                "description": "Early-warning worklists (预警): items raised by the policy's rules for the "
                "responsible department (scopes alerts:read, alerts:write).",
            },
            {
                "name": "appeals",
                "description": "Residents' requests (诉求) recorded on their behalf, routed to a department "
                "and tracked to an answer (scopes appeals:read, appeals:write).",
            },
        ],
    )
    app.state.settings = settings or get_settings()
    app.state.controls = controls
    app.state.tracer_provider = tracer_provider
    app.state.meter_provider = meter_provider
    install_error_handlers(app)
    install_outage_handler(app)
    for router in (
        residents.router,
        households.router,
        enrollments.router,
        services.router,
        notices.router,
        changes.router,
        subscriptions.router,
        regions.router,
        health.router,
        oauth.router,
        auth_admin.router,
        policy.router,
        policy.admin,
        sharing.router,
        consents.router,
        quarantine.router,
        quality.router,
        alerts.router,
        appeals.router,
        federation.router,
        federation.inbound,
        stats.router,
        ingest.build_router(),
        dashboard.router,
        problems_router,
        docs.router,
    ):
        app.include_router(router)
    annotate_policy_routes(app)  # x-policy-resource: which operations the policy governs
    install_audit(app)  # before the other middleware: the audit middleware sits inside tracing
    install_openapi(app)  # last OpenAPI hook: completes every operation (gateway/openapi.py)
    # Limits before any work (auth, parsing, audit); inside tracing, so a refusal keeps its request id.
    app.add_middleware(EdgeMiddleware, settings=app.state.settings)
    if app.state.settings.tracing_enabled:
        app.add_middleware(TracingMiddleware)  # outermost: the span covers all; it sets the request id too
    else:
        app.add_middleware(RequestIdMiddleware)
    app.add_middleware(RateLimitHeaders)  # RateLimit headers on every rate-limited answer, 2xx too
    app.state.draining = False  # set by the server at SIGTERM (gateway/drain.py)
    app.add_middleware(DrainMiddleware)
    return app
