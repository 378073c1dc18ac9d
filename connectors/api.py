"""What the gateway may use of the connectors: syncs, pushes, the registry, configuration, precedence.

The gateway imports this module only, never `connectors.sdk` (pyproject's import-linter contracts), so
the SDK's internals can change without the gateway noticing. The store they share is `store`.
"""

from connectors.sdk.base import Connector
from connectors.sdk.batch import MAX_RECORDS, PushBatch
from connectors.sdk.config import load_config
from connectors.sdk.errors import ConfigError
from connectors.sdk.linking.merge import FRESHEST, IDENTITY, PRECEDENCE
from connectors.sdk.push import PushResult, run_push
from connectors.sdk.registry import available, sources_of
from connectors.sdk.runner import SyncReport, SyncSummary, run_sync
from connectors.sdk.state import break_lease

__all__ = [
    "FRESHEST",
    "IDENTITY",
    "MAX_RECORDS",
    "PRECEDENCE",
    "ConfigError",
    "Connector",
    "PushBatch",
    "PushResult",
    "SyncReport",
    "SyncSummary",
    "available",
    "break_lease",
    "load_config",
    "run_push",
    "run_sync",
    "sources_of",
]
