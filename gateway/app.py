"""App factory: routers, error handlers, middleware; engines are built in the lifespan."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from gateway import health
from gateway.alerts import endpoints as alerts
from gateway.appeals import endpoints as appeals
from gateway.audit.runtime import install_audit
from gateway.auth import admin as auth_admin
from gateway.auth import endpoints as oauth
from gateway.changes import endpoints as changes
from gateway.consents import endpoints as consents
from gateway.dashboard import views as dashboard
from gateway.docs import install_docs
from gateway.drain import DrainMiddleware
from gateway.enrollments import endpoints as enrollments
from gateway.federation import endpoints as federation
from gateway.households import endpoints as households
from gateway.ingest import endpoints as ingest
from gateway.lifespan import lifespan
from gateway.limits import EdgeMiddleware
from gateway.middleware import RequestIdMiddleware
from gateway.notices import endpoints as notices
from gateway.openapi import GatewayAPI
from gateway.policy import endpoints as policy
from gateway.policy import sharing
from gateway.policy.throttle import RateLimitHeaders
from gateway.problem_json import install_error_handlers
from gateway.problems import router as problems_router
from gateway.public_services import endpoints as services
from gateway.quality import endpoints as quality
from gateway.quarantine import endpoints as quarantine
from gateway.regions import endpoints as regions
from gateway.residents import endpoints as residents
from gateway.resilience import install_outage_handler
from gateway.runtime import AppConfig, LegalControls
from gateway.settings import Settings, get_settings
from gateway.stats import endpoints as stats
from gateway.subscriptions import endpoints as subscriptions
from gateway.telemetry import TracingMiddleware

DESCRIPTION = """\
Xiangzhi Gateway (乡治) joins the records that the civil-affairs (民政), human-resources-and-social-security
(人社) and publicity (宣传) departments keep of the same residents, and serves them to department systems.

* Every error is RFC 9457 `application/problem+json`.
* Lists are cursor-paginated: follow `next` until it is null. Cursors are opaque and signed: pass
  them back unchanged (an altered one is 400 `invalid-cursor`).
* A citizen ID number never goes into a URL: use `POST /v1/residents:lookup`.
"""


ENFORCED = LegalControls()


# The operation groups of the OpenAPI document, in the order the docs list them.
OPENAPI_TAGS: list[dict[str, str]] = [
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
    {
        "name": "policy",
        "description": "The sharing catalogue, decisions explained, conditional-sharing requests "
        "(有条件共享).",
    },
    {
        "name": "statistics",
        "description": "Aggregate village statistics (村级统计), small cells suppressed.",
    },
    {
        "name": "audit",
        "description": "The tamper-evident access log (scope audit:read): events, proofs, checkpoints, keys.",
    },
    {
        "name": "ingest",
        "description": "Push ingest: department systems push changed records in their source's own "
        "format (scope ingest:{source}), with an Idempotency-Key.",
    },
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
]


def create_app(
    settings: Settings | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    controls: LegalControls = ENFORCED,
) -> FastAPI:
    """Assemble the gateway application (tests pass their own tracer provider: the global one is set once)."""
    app = GatewayAPI(
        title="Xiangzhi Gateway (乡治)",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # both served by gateway.docs, with no CDN
        redoc_url=None,
        openapi_tags=OPENAPI_TAGS,
    )
    app.state.config = AppConfig(
        settings=settings or get_settings(),
        controls=controls,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    install_error_handlers(app)
    install_outage_handler(app)
    _include_routers(app)
    _install_middleware(app)
    return app


def _include_routers(app: FastAPI) -> None:
    """Mount every room's router."""
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
        oauth.well_known,
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
    ):
        app.include_router(router)


def _install_middleware(app: FastAPI) -> None:
    """Install the docs, the audit layer and the middleware stack, innermost first."""
    install_docs(app)
    install_audit(app)  # before the other middleware: the audit middleware sits inside tracing
    # Limits before any work (auth, parsing, audit); inside tracing, so a refusal keeps its request id.
    app.add_middleware(EdgeMiddleware, settings=app.state.config.settings)
    if app.state.config.settings.tracing_enabled:
        app.add_middleware(TracingMiddleware)  # outermost: the span covers all; it sets the request id too
    else:
        app.add_middleware(RequestIdMiddleware)
    app.add_middleware(RateLimitHeaders)  # RateLimit headers on every rate-limited answer, 2xx too
    app.state.draining = False  # set by the server at SIGTERM (gateway/drain.py)
    app.add_middleware(DrainMiddleware)
