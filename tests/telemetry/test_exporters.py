"""Exporters come from the standard OTEL_* variables, the same way for traces and for metrics."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from gateway.metrics import build_meter_provider
from gateway.otel import exporters_from_env
from gateway.telemetry import build_tracer_provider


def test_named_exporters_for_both_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console, otlp")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp,prometheus")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    traces = exporters_from_env("traces", console=ConsoleSpanExporter)
    assert [type(e) for e in traces] == [ConsoleSpanExporter, OTLPSpanExporter]
    metrics = exporters_from_env("metrics", console=ConsoleMetricExporter, ignored=("none", "prometheus"))
    assert [type(e) for e in metrics] == [OTLPMetricExporter]
    build_tracer_provider(sample_ratio=1.0).shutdown()
    provider = build_meter_provider()
    readers = provider._metric_readers  # what the provider was built with (no public accessor)
    assert [type(r) for r in readers] == [PeriodicExportingMetricReader]
    provider.shutdown(timeout_millis=100)


def test_default_is_none_and_an_unknown_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert exporters_from_env("traces", console=ConsoleSpanExporter) == []
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "zipkin")
    with pytest.raises(ValueError, match="OTEL_METRICS_EXPORTER: unknown exporter 'zipkin'"):
        build_meter_provider()
