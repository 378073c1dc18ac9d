"""No switch turns the law off: no setting disables audit or policy; only bench/apps.py can, in code."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.audit.support import make_key

# Boolean settings allowed at all: each switches something that is not a legal control.
ALLOWED_SWITCHES = {"tracing_enabled"}
REPO = Path(__file__).resolve().parents[2]


def test_the_settings_model_has_no_audit_or_policy_switch() -> None:
    switches = {name for name, f in Settings.model_fields.items() if f.annotation is bool}
    assert switches <= ALLOWED_SWITCHES, switches - ALLOWED_SWITCHES
    for name in Settings.model_fields:
        assert not (name.startswith(("audit", "policy")) and name.endswith(("enabled", "disabled", "off")))


def test_the_old_variables_change_nothing(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path
) -> None:
    make_key(tmp_path)
    monkeypatch.setenv("GATEWAY_AUDIT_ENABLED", "false")
    monkeypatch.setenv("GATEWAY_POLICY_ENABLED", "false")
    settings = Settings(database_url=sqlite_url, audit_key_file=tmp_path / "audit-key.pem")
    app = create_app(settings)
    with TestClient(app):
        assert app.state.runtime.audit_writer is not None and app.state.runtime.policy.enabled


def test_no_deployment_path_names_the_benchmark_factories() -> None:
    for folder in ("gateway", "deploy", "docs"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".yaml", ".yml", ".md", ".txt", ".toml", ""}:
                text = path.read_text(errors="ignore")
                assert "bench.apps" not in text and "AUDIT_ENABLED" not in text, path
                assert "POLICY_ENABLED" not in text, path
