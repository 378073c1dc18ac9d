"""OpenTelemetry: a lean server span per request, trace ids always, export sampled and batched.

Exporters come only from the standard OTEL_* variables: OTEL_TRACES_EXPORTER (otlp, console, none;
default none), OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (http/protobuf or grpc), OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_TRACES_SAMPLER[_ARG] and OTEL_SERVICE_NAME. A measured instrumentor with receive/send spans cut
throughput to a quarter; this middleware makes one span and sets a handful of attributes.
"""

from __future__ import annotations

import os
import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import Message, Receive, Scope, Send

from gateway.context import record_of_scope
from gateway.metrics import Metrics
from gateway.middleware import HttpMiddleware, incoming_request_id
from gateway.otel import exporters_from_env

TRACER_NAME = "xiangzhi.gateway"
_PROPAGATOR = TraceContextTextMapPropagator()


class _ScopeHeaders(Getter[list[tuple[bytes, bytes]]]):
    """Read W3C trace headers straight from the ASGI header list."""

    def get(self, carrier: list[tuple[bytes, bytes]], key: str) -> list[str] | None:
        wanted = key.encode()
        values = [v.decode("latin-1") for k, v in carrier if k == wanted]
        return values or None

    def keys(self, carrier: list[tuple[bytes, bytes]]) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier]


_GETTER = _ScopeHeaders()


def _exporters() -> list[SpanExporter]:
    exporters: list[SpanExporter] = exporters_from_env("traces", console=ConsoleSpanExporter)
    return exporters


def _sampler(default_ratio: float) -> Sampler | None:
    # OTEL_TRACES_SAMPLER wins (the SDK reads it when we pass None); else our ratio, parent-based.
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None
    return ParentBased(TraceIdRatioBased(default_ratio))


def build_tracer_provider(
    *, sample_ratio: float, processors: list[SpanProcessor] | None = None
) -> TracerProvider:
    """Build the process's tracer provider from OTEL_* variables (plus extra processors, for tests)."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": "xiangzhi-gateway"}), sampler=_sampler(sample_ratio)
    )
    for exporter in _exporters():
        provider.add_span_processor(BatchSpanProcessor(exporter))
    for processor in processors or []:
        provider.add_span_processor(processor)
    return provider


def trace_id_of(scope: Scope) -> str | None:
    """Return the request's trace id (32 hex digits), set by TracingMiddleware."""
    state = scope.get("state") or {}
    value = state.get("trace_id")
    return value if isinstance(value, str) else None


class TracingMiddleware(HttpMiddleware):
    """Open one SERVER span per HTTP request; honour incoming traceparent; expose the trace id."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request inside its span."""
        tracer: Tracer | None = getattr(scope["app"].state, "tracer", None)
        if tracer is None:  # lifespan not run (some test transports): serve untraced
            await self.app(scope, receive, send)
            return
        parent = _PROPAGATOR.extract(scope.get("headers") or [], getter=_GETTER)
        method = scope["method"]
        span = tracer.start_span(method, context=parent, kind=SpanKind.SERVER, start_time=time.time_ns())
        ctx = span.get_span_context()
        trace_id = format(ctx.trace_id, "032x")
        state = scope.setdefault("state", {})
        state["trace_id"] = trace_id
        # One layer fewer on the hot path: the request id (default: the trace id) is set here too.
        request_id = incoming_request_id(scope) or trace_id
        state["request_id"] = request_id
        extra = [(b"x-trace-id", trace_id.encode()), (b"x-request-id", request_id.encode())]
        status_code = 500

        async def send_traced(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        token = otel_context.attach(trace.set_span_in_context(span, parent))
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_traced)
        except BaseException as exc:
            span.record_exception(exc)
            raise
        finally:
            otel_context.detach(token)
            _finish(
                span, scope, method=method, status_code=status_code, seconds=time.perf_counter() - started
            )
            span.end()


def _finish(span: Any, scope: Scope, *, method: str, status_code: int, seconds: float) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or "(unmatched)"
    rec = record_of_scope(scope)
    attrs: dict[str, Any] = {
        "http.route": template,
        "http.request.method": method,
        "http.response.status_code": status_code,
    }
    if rec.client_id:
        attrs["xz.client_id"] = rec.client_id
    metrics: Metrics | None = getattr(scope["app"].state, "metrics", None)
    if metrics is not None:
        metrics.request_duration.record(seconds, attrs)
        if rec.decision == "deny" or status_code in (401, 403, 429):
            metrics.denials.add(1, {"reason": rec.reason or str(status_code), "http.route": template})
    if not span.is_recording():
        return
    span.update_name(f"{method} {template}")
    if rec.purpose:
        attrs["xz.purpose"] = rec.purpose
    span.set_attributes(attrs)
    if status_code >= 500:
        span.set_status(Status(StatusCode.ERROR))
