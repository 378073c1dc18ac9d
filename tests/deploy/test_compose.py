"""deploy/compose.yaml: valid against the Compose Specification schema (shipped copy), wired as documented."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
SCHEMA = Path(__file__).with_name("compose-spec.json")
GATEWAYS = ("gateway-1", "gateway-2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """Return compose.yaml as Compose reads it (YAML anchors and merge keys resolved)."""
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    """Return a validator for the Compose Specification schema."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_compose_validates_against_the_compose_spec(
    compose: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    """No schema error anywhere in the file."""
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)


def test_schema_catches_a_misspelt_key(
    compose: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    """Negative control: the shipped schema is live (a typo in a service is an error)."""
    broken = copy.deepcopy(compose)
    broken["services"]["nginx"]["depend_on"] = ["gateway-1"]
    assert list(validator.iter_errors(broken))


def test_startup_order(compose: dict[str, Any]) -> None:
    """postgres healthy -> migrate completes -> two gateways healthy -> nginx."""
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["gateway", "db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert re.fullmatch(r"postgres:15\.\d+(-\w+)?", services["postgres"]["image"])
    for name in GATEWAYS:
        gw = services[name]
        assert gw["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert gw["command"][:4] == ["gateway", "serve", "--host", "0.0.0.0"]
        assert services["nginx"]["depends_on"][name]["condition"] == "service_healthy"
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"


def test_nginx_balances_exactly_the_gateways(compose: dict[str, Any]) -> None:
    """The upstream of nginx.conf lists each gateway replica on 8000, and nothing else."""
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream\s+gateway\s*\{(.*?)\}", conf, re.S)
    assert upstream
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream.group(1), re.M)
    assert sorted(servers) == [(g, "8000") for g in GATEWAYS]
    assert "proxy_pass http://gateway;" in conf


def test_collector_exports_to_jaeger(compose: dict[str, Any]) -> None:
    """The collector's pipelines use only defined components; traces go to the jaeger service."""
    cfg = yaml.safe_load((DEPLOY / "otel" / "collector.yaml").read_text(encoding="utf-8"))
    for name, pipe in cfg["service"]["pipelines"].items():
        for part in ("receivers", "processors", "exporters"):
            for comp in pipe.get(part, []):
                assert comp in cfg[part], f"pipeline {name}: {part} {comp} is not defined"
    traces = cfg["service"]["pipelines"]["traces"]["exporters"]
    endpoints = [cfg["exporters"][e].get("endpoint", "") for e in traces]
    assert any(e.startswith("jaeger:") for e in endpoints)
    assert "jaeger" in compose["services"]
    for name in GATEWAYS:
        env = compose["services"][name]["environment"]
        assert env["OTEL_TRACES_EXPORTER"] == "otlp"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://otel-collector:")


def test_demo_services(compose: dict[str, Any]) -> None:
    """The demo: a generated county, the fake HR API, and a sync of every source sharing its loopback."""
    services = compose["services"]
    assert services["fake-hr"]["command"][:3] == ["python", "-m", "connectors.demo.fake_hr"]
    sync = services["sync"]
    assert sync["network_mode"] == "service:fake-hr"
    script = " ".join(sync["command"])
    for source in ("civil_affairs", "hr_api", "hr_migrant_register", "publicity"):
        assert source in script
    assert "gateway sync" in script


def test_hardening_and_loopback_ports(compose: dict[str, Any]) -> None:
    """Our containers run read-only without capabilities; published ports bind 127.0.0.1 only."""
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
        if svc.get("image", "").startswith("${XZ_IMAGE"):
            assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"], name


def test_bind_mounts_exist(compose: dict[str, Any]) -> None:
    """Every relative bind mount points at a file or folder of the repository."""
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} is missing"


def test_audit_archive_service_and_witness(compose: dict[str, Any]) -> None:
    """A service archives the audit log on schedule; gateways and it share the checkpoint witness volume."""
    services = compose["services"]
    archive = services["audit-archive"]
    script = " ".join(archive["command"])
    assert "gateway audit archive" in script and "sleep 86400" in script
    env = archive["environment"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in archive["volumes"]}
    assert mounts[env["GATEWAY_AUDIT_ARCHIVE_DIR"]] == "audit-archives"
    assert mounts[env["GATEWAY_AUDIT_WITNESS_DIR"]] == "audit-witness"
    assert archive["environment"]["GATEWAY_AUDIT_KEY_FILE"] == "/run/secrets/audit-key"
    for name in ("gateway-1", "gateway-2"):
        gw = services[name]
        gw_mounts = {v.split(":")[1]: v.split(":")[0] for v in gw["volumes"]}
        assert gw_mounts[gw["environment"]["GATEWAY_AUDIT_WITNESS_DIR"]] == "audit-witness"
    assert {"audit-archives", "audit-witness"} <= set(compose["volumes"])
