"""OpenTelemetry metrics: request counts and durations, denials, audit batches, pushed records.

Readers come from OTEL_METRICS_EXPORTER (otlp, console, none; default none) and, when
GATEWAY_METRICS_PORT is set, a Prometheus text endpoint on that port (bound to GATEWAY_METRICS_HOST,
127.0.0.1 by default) served from a registry private to the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import Counter, Histogram, Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from gateway.otel import exporters_from_env

METER_NAME = "xiangzhi.gateway"


@dataclass(frozen=True, slots=True)
class Metrics:
    """The gateway's instruments, one set per app, recorded by requests, the audit writer and pushes."""

    request_duration: Histogram
    denials: Counter
    audit_batch_size: Histogram
    audit_batch_latency: Histogram
    sync_records: Counter
    quarantined: Counter

    @classmethod
    def create(cls, meter: Meter) -> Metrics:
        """Create every instrument on `meter`."""
        return cls(
            request_duration=meter.create_histogram(
                "http.server.request.duration",
                unit="s",
                description="Duration of HTTP requests by route and client.",
            ),
            denials=meter.create_counter("xz.denials", description="Requests denied, by reason."),
            audit_batch_size=meter.create_histogram(
                "xz.audit.batch.size", description="Events per audit commit."
            ),
            audit_batch_latency=meter.create_histogram(
                "xz.audit.batch.latency",
                unit="s",
                description="Time from enqueue to commit of audit batches.",
            ),
            sync_records=meter.create_counter(
                "xz.sync.records", description="Pushed source records by source and outcome."
            ),
            quarantined=meter.create_counter(
                "xz.quarantine.records", description="Quarantined records by reason."
            ),
        )


def _readers() -> list[MetricReader]:
    # "prometheus" is served by PrometheusEndpoint (GATEWAY_METRICS_PORT), not by an exporter.
    exporters = exporters_from_env("metrics", console=ConsoleMetricExporter, ignored=("none", "prometheus"))
    return [PeriodicExportingMetricReader(e) for e in exporters]


class PrometheusEndpoint:
    """A Prometheus text endpoint on its own loopback port, over a registry private to this app."""

    def __init__(self, *, host: str, port: int) -> None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry

        self.registry = CollectorRegistry(auto_describe=True)
        self.reader = PrometheusMetricReader(registry=self.registry)
        self.host, self.port = host, port
        self._server: Any = None

    def start(self) -> None:
        """Serve /metrics."""
        from prometheus_client import start_http_server

        self._server, _thread = start_http_server(self.port, addr=self.host, registry=self.registry)

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def build_meter_provider(*, extra_readers: list[MetricReader] | None = None) -> MeterProvider:
    """Build the process's meter provider from OTEL_* variables plus extra readers (Prometheus, tests)."""
    readers = _readers() + list(extra_readers or [])
    return MeterProvider(
        resource=Resource.create({"service.name": "xiangzhi-gateway"}), metric_readers=readers
    )
