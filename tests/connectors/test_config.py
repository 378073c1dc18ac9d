"""The sources config: YAML file, GATEWAY_* overrides, secrets from the environment only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connectors.hr_api import HrApiSettings
from connectors.sdk.config import load_config
from connectors.sdk.errors import ConfigError
from connectors.sdk.runner import build_connectors

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, doc: dict[str, object]) -> Path:
    """Write a sources file."""
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_example_config_is_valid_for_every_connector() -> None:
    """sources.example.yaml names every installed connector and validates with its settings model."""
    config = load_config(REPO / "sources.example.yaml", env={"GATEWAY_HR_API_KEY": "k"})
    names = [c.name for c in build_connectors(None, config=config)]
    assert names == ["gazetteer", "civil_affairs", "hr_api", "hr_migrant_register", "publicity"]


def test_path_from_environment_and_overrides(tmp_path: Path) -> None:
    """GATEWAY_SOURCES_CONFIG picks the file; GATEWAY_<SOURCE>__<KEY> overrides one setting."""
    path = write(tmp_path, {"sources": {"hr_api": {"base_url": "http://127.0.0.1:1", "api_key_env": "K"}}})
    env = {"GATEWAY_SOURCES_CONFIG": str(path), "K": "secret", "GATEWAY_HR_API__PAGE_SIZE": "42"}
    settings = load_config(env=env).settings("hr_api", HrApiSettings)
    assert settings.page_size == 42 and settings.api_key.get_secret_value() == "secret"
    assert "secret" not in repr(settings) and "secret" not in str(settings.model_dump())


def test_process_environment_overrides_the_file_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a mapping the process environment overrides; the rest of the section stays as written."""
    path = write(
        tmp_path,
        {"sources": {"hr_api": {"base_url": "http://127.0.0.1:1", "api_key_env": "K", "page_size": 7}}},
    )
    monkeypatch.setenv("GATEWAY_HR_API__BASE_URL", "http://127.0.0.1:2")
    monkeypatch.setenv("GATEWAY_HR_API__PAGE_SIZE__X", "1")  # one split only: the setting `page_size__x`
    monkeypatch.setenv("GATEWAY_CIVIL_AFFAIRS__URL", "sqlite:///other.db")  # another source's
    section = load_config(path).section("hr_api")
    assert section == {
        "base_url": "http://127.0.0.1:2",
        "api_key_env": "K",
        "page_size": 7,
        "page_size__x": "1",
    }


def test_api_key_only_from_the_environment(tmp_path: Path) -> None:
    """An API key written in the file is refused; a missing variable is named, its value never shown."""
    path = write(tmp_path, {"sources": {"hr_api": {"base_url": "http://127.0.0.1:1", "api_key": "in-file"}}})
    with pytest.raises(ConfigError, match="api_key_env"):
        load_config(path, env={}).settings("hr_api", HrApiSettings)
    path = write(tmp_path, {"sources": {"hr_api": {"base_url": "http://127.0.0.1:1", "api_key_env": "NOPE"}}})
    with pytest.raises(ConfigError, match="NOPE"):
        load_config(path, env={}).settings("hr_api", HrApiSettings)


def test_invalid_settings_are_reported_without_values(tmp_path: Path) -> None:
    """A bad value names the setting; a typo (unknown key) is an error; values are not echoed."""
    path = write(
        tmp_path, {"sources": {"hr_api": {"base_url": "ftp://x", "api_key_env": "K", "pagesize": 1}}}
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"K": "topsecret"}).settings("hr_api", HrApiSettings)
    assert (
        "base_url" in str(info.value) and "pagesize" in str(info.value) and "topsecret" not in str(info.value)
    )


def test_missing_file_and_unknown_source(tmp_path: Path) -> None:
    """A missing file says how to make one; an unknown source lists the installed ones."""
    with pytest.raises(ConfigError, match=r"sources\.example\.yaml"):
        load_config(tmp_path / "nope.yaml", env={})
    path = write(tmp_path, {"sources": {"gazetteer": {"path": "g.csv"}}})
    with pytest.raises(ConfigError, match=r"installed: gazetteer"):
        build_connectors(["hr_apii"], config=load_config(path, env={}))
    with pytest.raises(ConfigError, match="no settings"):
        build_connectors(["publicity"], config=load_config(path, env={}))
