"""Spans: one server span per request with its route and status, database children, W3C parents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind
from sqlalchemy import Engine

from gateway.app import create_app
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.support import factories


def _authorise(client: TestClient, engine: Engine) -> None:
    client_id, secret = register(engine)
    assert secret is not None
    client.headers["Authorization"] = f"Bearer {fetch_token(client, client_id, secret)}"
    client.headers["X-Purpose"] = "social-assistance-review"


@pytest.fixture
def traced(store_url: str, store_engine: Engine) -> Iterator[tuple[TestClient, InMemorySpanExporter]]:
    """Return a client of an app whose spans land in memory (provider passed explicitly)."""
    factories.county(store_engine)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_ON)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client_id, secret = register(store_engine)
    app = create_app(auth_settings(store_url, db_pool_size=2), tracer_provider=provider)
    with TestClient(app, raise_server_exceptions=False) as client:
        # A real token, verified once up front so the spans below are the request's own (not the
        # token endpoint's, nor the first-use client check's).
        client.headers["Authorization"] = f"Bearer {fetch_token(client, client_id, secret or '')}"
        assert client.get("/v1/regions").status_code == 200
        exporter.clear()
        yield client, exporter


def test_server_span_with_route_status_and_db_child(traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = traced
    r = client.get("/v1/regions/511599100000")
    assert r.status_code == 200
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(server) == 1
    root = server[0]
    assert root.name == "GET /v1/regions/{code}"
    assert root.attributes is not None
    assert root.attributes["http.route"] == "/v1/regions/{code}"
    assert root.attributes["http.response.status_code"] == 200
    db = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert db and all(s.parent is not None and s.parent.span_id == root.context.span_id for s in db)
    assert db[0].attributes is not None and "FROM region" in str(db[0].attributes["db.query.text"])
    assert r.headers["x-trace-id"] == format(root.context.trace_id, "032x")


def test_incoming_traceparent_is_honoured(traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = traced
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = "00f067aa0ba902b7"
    r = client.get("/healthz", headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    assert r.headers["x-trace-id"] == trace_id
    assert r.headers["x-request-id"] == trace_id  # the request id defaults to the trace id
    (root,) = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert format(root.context.trace_id, "032x") == trace_id
    assert root.parent is not None and format(root.parent.span_id, "016x") == parent

    assert client.get("/healthz", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_problem_json_carries_trace_id(traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = traced
    r = client.get("/v1/regions/511599999999")
    assert r.status_code == 404
    body = r.json()
    (root,) = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert body["trace_id"] == format(root.context.trace_id, "032x") == r.headers["x-trace-id"]
    assert root.attributes is not None and root.attributes["http.response.status_code"] == 404


def test_request_metrics_by_route_and_denials(store_url: str, store_engine: Engine) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    factories.county(store_engine)
    client_id, secret = register(store_engine)
    reader = InMemoryMetricReader()
    app = create_app(auth_settings(store_url), meter_provider=MeterProvider(metric_readers=[reader]))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {fetch_token(client, client_id, secret or '')}"
        for _ in range(3):
            assert client.get("/v1/regions/511599100000").status_code == 200
        assert client.get("/v1/regions/511599999999").status_code == 404
    data = reader.get_metrics_data()
    assert data is not None
    points = [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "http.server.request.duration"
        for p in m.data.data_points
    ]
    by_status = {
        (p.attributes["http.route"], p.attributes["http.response.status_code"]): p.count for p in points
    }
    assert by_status[("/v1/regions/{code}", 200)] == 3
    assert by_status[("/v1/regions/{code}", 404)] == 1
    # Every audited request went through an audit batch: sizes add up, each batch had a latency.
    sizes = _points(data, "xz.audit.batch.size")
    latencies = _points(data, "xz.audit.batch.latency")
    assert sum(p.sum for p in sizes) >= 4
    assert sum(p.count for p in latencies) == sum(p.count for p in sizes) >= 1


def _points(data: Any, name: str) -> list[Any]:
    return [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for p in m.data.data_points
    ]


def test_prometheus_endpoint_on_its_own_loopback_port(sqlite_url: str) -> None:
    import httpx

    from tests.support.pgcluster import free_port

    port = free_port()
    app = create_app(auth_settings(sqlite_url, metrics_port=port))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert "http_server_request_duration" in text and 'http_route="/healthz"' in text
