"""`gateway sync` and `gateway quarantine` from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from connectors.demo import county_sources
from connectors.demo.fake_hr import FakeHrServer
from gateway import migrate
from gateway.cli import app
from gateway.settings import get_settings
from store.engines import make_sync_engine
from tests.connectors.conftest import HR_KEY


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the gateway at a fresh store in tmp_path; return the store's path."""
    db = tmp_path / "gateway.db"
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{db}")
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def config(tmp_path: Path, samples: Path, hr_url: str) -> Path:
    """Write a sources file of the samples."""
    path = tmp_path / "sources.yaml"
    doc = {"sources": county_sources(samples, hr_url=hr_url, hr_key_env="TEST_HR_KEY", backoff_seconds=0)}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_sync_refuses_an_unmigrated_store(env: Path, tmp_path: Path) -> None:
    """Without `gateway db upgrade` the sync stops with a clear message and exit code 2."""
    result = CliRunner().invoke(app, ["sync", "--config", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "gateway db upgrade" in result.output


def test_sync_and_quarantine_commands(
    env: Path, tmp_path: Path, samples: Path, samples_hr: FakeHrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full sync prints its summary; a second changes nothing; quarantine list and show explain."""
    engine = make_sync_engine(f"sqlite:///{env}")
    migrate.upgrade(engine)
    monkeypatch.setenv("TEST_HR_KEY", HR_KEY)
    path = config(tmp_path, samples, samples_hr.url)
    runner = CliRunner()
    first = runner.invoke(app, ["sync", "--config", str(path), "--no-progress"])
    assert first.exit_code == 0, first.output
    assert (
        "sync summary" in first.output and "civil_affairs" in first.output and "296 created" in first.output
    )
    again = runner.invoke(app, ["sync", "--config", str(path), "--no-progress", "civil_affairs", "hr_api"])
    assert again.exit_code == 0 and "0 created, 0 updated" in again.output
    listed = runner.invoke(app, ["quarantine", "list", "--reason", "invalid_id"])
    assert (
        listed.exit_code == 0
        and "MZ00000148" in listed.output
        and "civil_affairs/invalid_id: 4" in listed.output
    )
    with engine.connect() as conn:
        qid = conn.execute(text("SELECT id FROM quarantine WHERE record_key = 'RS0000228'")).scalar_one()
    shown = runner.invoke(app, ["quarantine", "show", str(qid)])
    assert shown.exit_code == 0 and '"idCardNo"' in shown.output and '"reason": "invalid_id"' in shown.output
    engine.dispose()


def test_failing_source_exits_non_zero(
    env: Path, tmp_path: Path, samples: Path, samples_hr: FakeHrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source that fails (here: a wrong HR key) makes the exit code 1; the key is never printed."""
    engine = make_sync_engine(f"sqlite:///{env}")
    migrate.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("TEST_HR_KEY", "a-wrong-secret")
    result = CliRunner().invoke(
        app, ["sync", "--config", str(config(tmp_path, samples, samples_hr.url)), "hr_api"]
    )
    assert result.exit_code == 1 and "1001" in result.output and "a-wrong-secret" not in result.output
