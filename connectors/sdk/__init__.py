"""The connector SDK: base class, records, errors, the shared runner and the contract tests' base."""

from connectors.sdk.base import Connector, Extracted
from connectors.sdk.config import SourcesConfig, SourceSettings, config_from_dict, load_config
from connectors.sdk.errors import (
    ConfigError,
    FatalSourceError,
    Reason,
    RecordInvalid,
    RetriableSourceError,
    SourceError,
    SyncLocked,
)
from connectors.sdk.records import Checkpoint, EnrollmentRecord, PersonRecord, RawItem, RawRecord, Translation
from connectors.sdk.runner import Progress, SyncReport, SyncSummary, run_connectors, run_sync

__all__ = [
    "Checkpoint",
    "ConfigError",
    "Connector",
    "EnrollmentRecord",
    "Extracted",
    "FatalSourceError",
    "PersonRecord",
    "Progress",
    "RawItem",
    "RawRecord",
    "Reason",
    "RecordInvalid",
    "RetriableSourceError",
    "SourceError",
    "SourceSettings",
    "SourcesConfig",
    "SyncLocked",
    "SyncReport",
    "SyncSummary",
    "Translation",
    "config_from_dict",
    "load_config",
    "run_connectors",
    "run_sync",
]
