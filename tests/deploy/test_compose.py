"""deploy/compose.yaml: valid against the Compose Specification schema (shipped copy), wired as documented."""

from __future__ import annotations

import copy
import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography.fernet import Fernet

from connectors.sdk.config import load_config
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


class RenderError(ValueError):
    """A required variable of the compose file is unset (`${VAR:?message}`)."""


VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


def render(text: str, env: dict[str, str]) -> dict[str, Any]:
    """Interpolate compose.yaml as `docker compose config` does ($$, ${V}, ${V:-d}, ${V:?m}); load it."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1) or m.group(4), m.group(2), m.group(3) or ""
        value = env.get(name)
        empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op and op.endswith("-"):
            return arg if empty else str(value)
        if op and op.endswith("?"):
            if empty:
                raise RenderError(f"required variable {name} is missing a value: {arg}")
            return str(value)
        return value or ""

    return yaml.safe_load(VARIABLE.sub(one, text))


def documented_env() -> dict[str, str]:
    """Return deploy/.env as deploy/README.md's prerequisites write it (the key command, run here)."""
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    (line,) = [x for x in readme.splitlines() if x.startswith('echo "XZ_KEY_ENCRYPTION_KEY=')]
    out = subprocess.run(["bash", "-c", line.removesuffix(" >> deploy/.env")], capture_output=True, text=True)
    key, value = out.stdout.strip().split("=", 1)
    Fernet(value.encode())  # a usable key-encryption key
    return {key: value}


def test_renders_with_the_documented_prerequisites_and_validates(
    validator: jsonschema.Draft7Validator,
) -> None:
    """With deploy/.env as the README writes it, the rendered stack is valid Compose."""
    env = documented_env()
    rendered = render((DEPLOY / "compose.yaml").read_text(encoding="utf-8"), env)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(rendered)]
    assert not errors, "\n".join(errors)
    services = rendered["services"]
    for name in (*GATEWAYS, "webhook-worker"):
        assert services[name]["environment"]["GATEWAY_KEY_ENCRYPTION_KEY"] == env["XZ_KEY_ENCRYPTION_KEY"]
    assert services["sync"]["command"][-1].count("$source") == 1  # $$ survives as the shell's $
    assert (DEPLOY / "secrets" / "README.md").is_file() and "audit-key.pem" in rendered["secrets"][
        "audit-key"
    ]["file"]


def test_without_the_key_rendering_fails_and_names_deploy_env() -> None:
    """The one required setting is refused by name, with where to put it."""
    with pytest.raises(RenderError, match=r"XZ_KEY_ENCRYPTION_KEY.*deploy/\.env"):
        render((DEPLOY / "compose.yaml").read_text(encoding="utf-8"), {})


def test_the_demo_syncs_every_source_gazetteer_first(compose: dict[str, Any]) -> None:
    """The sync job runs every connector, the gazetteer first; the demo sources file configures each."""
    entry_points = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    block = entry_points.split('[project.entry-points."gateway.connectors"]', 1)[1].split("\n[", 1)[0]
    connectors = re.findall(r"^(\w+) = \"([\w.]+):(\w+)\"", block, re.MULTILINE)
    script = compose["services"]["sync"]["command"][-1]
    order = re.search(r"for source in ([\w ]+);", script).group(1).split()  # type: ignore[union-attr]
    assert order[0] == "gazetteer" and sorted(order) == sorted(name for name, _, _ in connectors)
    config = load_config(DEPLOY / "config" / "sources.demo.yaml", env={"GATEWAY_HR_API_KEY": "k"})
    assert config.names[0] == "gazetteer" and sorted(config.names) == sorted(order)
    for name, module, cls in connectors:
        model = getattr(importlib.import_module(module), cls).settings_model
        config.settings(name, model)  # each section is valid for its connector
        for value in config.section(name).values():
            if isinstance(value, str) and "/srv/county" in value:
                assert value.split("/srv/county")[0] in ("", "sqlite:///"), value


def test_only_servers_have_a_healthcheck(compose: dict[str, Any]) -> None:
    """The worker and the one-shot jobs serve no HTTP: the image's /healthz check is off for them."""
    services = compose["services"]
    for name in ("webhook-worker", "migrate", "demo-county", "sync", "demo-clients"):
        assert services[name]["healthcheck"] == {"disable": True}, name
    for name in GATEWAYS:
        assert "healthcheck" not in services[name]  # the image's own, on /healthz


def test_named_volumes_are_writable_by_the_image_user(compose: dict[str, Any]) -> None:
    """A named volume starts as the image's directory: those our image writes belong to uid 10001."""
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    chown = re.search(r"chown gateway:gateway ([^\n\\]+)", dockerfile).group(1).split()  # type: ignore[union-attr]
    for name, svc in compose["services"].items():
        if not svc.get("image", "").startswith("${XZ_IMAGE"):
            continue
        for vol in svc.get("volumes", []):
            source, target, *mode = vol.split(":")
            if source in compose["volumes"] and mode != ["ro"]:
                assert target in chown, f"{name}: volume {source} at {target} is not owned by uid 10001"


def test_demo_clients_are_registered_where_the_readme_says(compose: dict[str, Any]) -> None:
    """demo-clients registers them after the sync and writes the file deploy/README.md tells you to copy."""
    svc = compose["services"]["demo-clients"]
    assert svc["command"] == ["python", "-m", "gateway.demo.register", "--out", "/srv/demo/clients.json"]
    assert svc["depends_on"]["sync"]["condition"] == "service_completed_successfully"
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "docker compose cp demo-clients:/srv/demo/clients.json" in readme
    assert "docker run --rm -p 127.0.0.1:8000:8000" in readme


def test_no_stale_comments() -> None:
    """No deployment file still calls a connector provisional."""
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".md", "") and path.name != "Dockerfile":
            assert "provisional" not in path.read_text(encoding="utf-8", errors="replace").lower(), path


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
