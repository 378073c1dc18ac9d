"""The sources configuration: one YAML file of per-source settings, overridable by GATEWAY_* variables.

Layout (see sources.example.yaml)::

    sources:
      civil_affairs: {url: "sqlite:///...", batch_size: 2000}
      hr_api: {base_url: "http://127.0.0.1:8081", api_key_env: GATEWAY_HR_API_KEY}

An environment variable ``GATEWAY_<SOURCE>__<SETTING>`` (upper case, double underscore) overrides one
setting, e.g. ``GATEWAY_HR_API__BASE_URL``. Secrets never live in the file: a setting ending in ``_env``
names the variable holding the secret, read when the connector is built and kept as a SecretStr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from connectors.sdk.errors import ConfigError

CONFIG_ENV = "GATEWAY_SOURCES_CONFIG"
DEFAULT_PATH = Path("sources.yaml")
S = TypeVar("S", bound=BaseModel)


class SourceSettings(BaseModel):
    """Base of every connector's settings: unknown keys are an error, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_size: int = Field(default=10000, ge=1, description="records per transaction at most")
    commit_every: int = Field(
        default=1, ge=1, description="records pending before a checkpoint commits (1: at every checkpoint)"
    )
    reconcile_every_hours: float = Field(
        default=24.0,
        ge=0,
        description="a source that cannot list its keys is read in full this often, to notice deletions",
    )


class _MappingEnv(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (a test's, or a copy of os.environ)."""

    def __init__(self, settings_cls: type[BaseSettings], *, env: Mapping[str, str]) -> None:
        """Read `env` instead of the process environment, case-insensitively as pydantic-settings does."""
        super().__init__(settings_cls)
        self.env_vars = {key.lower(): value for key, value in env.items()}


class _SourceSection(BaseSettings):
    """One source's settings: the file's section under its GATEWAY_<SOURCE>__<SETTING> variables."""

    # No split below the source: GATEWAY_HR_API__A__B sets the setting `a__b` of hr_api, as it always
    # has, and the value stays the string the variable holds (the connector's model converts it).
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_nested_delimiter="__", env_nested_max_split=1, extra="ignore"
    )
    env: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Take the variables of the configuration's mapping over the file's section (given at init)."""
        return (_MappingEnv(settings_cls, env=cls.env), init_settings)


@dataclass(frozen=True)
class SourcesConfig:
    """Per-source settings as read (not yet validated: each connector validates its own section)."""

    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        """Return the configured source names, in file order."""
        return list(self.sections)

    def section(self, name: str) -> dict[str, Any]:
        """Return the raw settings of one source with GATEWAY_<SOURCE>__<KEY> overrides applied."""
        # pydantic-settings reads the variables (GATEWAY_ prefix, `__` nesting) and deep-merges them
        # over the file's section; the model has one field, this source's settings.
        declared: dict[str, Any] = {name: (dict[str, Any], Field(default_factory=dict))}
        model = create_model("SourceSection", __base__=_SourceSection, **declared)
        model.env = self.env
        written: dict[str, Any] = {name: self.sections.get(name) or {}}
        section: dict[str, Any] = getattr(model(**written), name)
        return section

    def settings(self, name: str, model: type[S]) -> S:
        """Validate one source's settings with its connector's settings model.

        A key `<field>_env` names the environment variable holding `<field>`; a field marked env_only
        (an API key) may not be written in the file itself.
        """
        raw = self.section(name)
        written = self.sections.get(name) or {}
        for field_name, info in model.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if extra.get("env_only") and field_name in written:
                raise ConfigError(
                    f"{name}: {field_name} may not be written in the config file; "
                    f"name the variable holding it with {field_name}_env"
                )
        for key in [k for k in raw if k.endswith("_env")]:
            var = raw.pop(key)
            target = key.removesuffix("_env")
            if target not in model.model_fields:
                raise ConfigError(f"{name}: {key} names no setting {target!r}")
            if target in raw:
                continue
            value = self.env.get(str(var))
            if value is None:
                raise ConfigError(f"{name}: environment variable {var} (named by {key}) is not set")
            raw[target] = SecretStr(value)
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            # Pydantic's message echoes input values; report only where and what, never a secret.
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"{name}: invalid settings: {problems}") from None


def load_config(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> SourcesConfig:
    """Read the sources file (`path`, else $GATEWAY_SOURCES_CONFIG, else ./sources.yaml)."""
    env = dict(os.environ if env is None else env)
    chosen = path or Path(env.get(CONFIG_ENV) or DEFAULT_PATH)
    if not chosen.is_file():
        raise ConfigError(
            f"sources config {chosen} not found: copy sources.example.yaml to sources.yaml "
            f"or set {CONFIG_ENV}"
        )
    try:
        doc = yaml.safe_load(chosen.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{chosen}: not valid YAML: {exc}") from None
    sources = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(sources, dict):
        raise ConfigError(f"{chosen}: expected a top-level mapping 'sources:' of source name -> settings")
    sections: dict[str, dict[str, Any]] = {}
    for name, section in sources.items():
        if section is not None and not isinstance(section, dict):
            raise ConfigError(f"{chosen}: settings of {name!r} must be a mapping")
        sections[str(name)] = dict(section or {})
    return SourcesConfig(sections=sections, path=chosen, env=env)


def config_from_dict(
    sections: Mapping[str, Mapping[str, Any]], *, env: Mapping[str, str] | None = None
) -> SourcesConfig:
    """Build a configuration in code (tests, benchmarks)."""
    return SourcesConfig(sections={k: dict(v) for k, v in sections.items()}, env=dict(env or {}))
