"""OpenTelemetry exporters named by the standard OTEL_* variables, for traces and metrics alike."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any, Literal

Signal = Literal["traces", "metrics"]

# The OTLP exporter class of each signal, under opentelemetry.exporter.otlp.proto.{http,grpc}.
_OTLP = {
    "traces": ("trace_exporter", "OTLPSpanExporter"),
    "metrics": ("metric_exporter", "OTLPMetricExporter"),
}


def exporters_from_env(
    signal: Signal, *, console: Callable[[], Any], ignored: tuple[str, ...] = ("none",)
) -> list[Any]:
    """Return the exporters OTEL_{SIGNAL}_EXPORTER names (otlp, console, none; default none).

    OTLP speaks OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf
    or grpc); the exporter reads its endpoint from the environment itself.
    """
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    names = [n.strip() for n in os.environ.get(variable, "none").split(",") if n.strip()]
    out: list[Any] = []
    for name in names:
        if name == "console":
            out.append(console())
        elif name == "otlp":
            out.append(_otlp(signal))
        elif name not in ignored:
            raise ValueError(f"{variable}: unknown exporter {name!r} (otlp, console, none)")
    return out


def _otlp(signal: Signal) -> Any:
    protocol = os.environ.get(
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL",
        os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    )
    transport = "grpc" if protocol == "grpc" else "http"
    module, name = _OTLP[signal]
    # Imported on demand: the gRPC exporter pulls in grpcio, which most deployments never load.
    exporter = getattr(
        importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.{module}"), name
    )
    return exporter()
