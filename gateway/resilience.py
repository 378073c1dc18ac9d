"""Store outages: which errors mean "the store cannot serve now", the 503 they become, bounded back-off.

Every connection the gateway holds (audit sequencer, read pool, engines, refreshers, the webhook
worker) uses these: an outage is answered 503 with Retry-After (never 500) and the next attempt
reconnects, no sooner than the back-off allows.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, Request
from sqlalchemy import exc as sa_exc
from starlette.responses import Response

from gateway.errors import RETRY_AFTER_SECONDS, StoreUnavailable

__all__ = ["RETRY_AFTER_SECONDS", "Backoff", "StoreUnavailable", "install_outage_handler", "store_errors"]


def _driver_outages() -> tuple[type[BaseException], ...]:
    import asyncpg
    import psycopg

    return (
        asyncpg.PostgresConnectionError,  # refused, lost, admin shutdown of the connection
        asyncpg.InterfaceError,  # the connection is closed or in a broken state
        asyncpg.InternalClientError,  # a connection cut mid-query ("another operation is in progress")
        asyncpg.CannotConnectNowError,
        asyncpg.OperatorInterventionError,  # admin shutdown, crash shutdown, terminate_backend
        asyncpg.QueryCanceledError,  # statement_timeout
        asyncpg.LockNotAvailableError,  # lock_timeout
        asyncpg.InsufficientResourcesError,  # disk full, too many connections
        asyncpg.IdleInTransactionSessionTimeoutError,
        psycopg.OperationalError,  # cannot connect, connection lost, query canceled, lock timeout
        psycopg.InterfaceError,
    )


OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    *_driver_outages(),
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # the pool had no connection within its timeout
    ConnectionError,
    TimeoutError,
)
# SQLite errors that are the store's state, not a bug: a lock held too long, a full or failing disk.
_SQLITE_OUTAGES = ("locked", "disk", "unable to open", "readonly database", "busy")


def is_outage(exc: BaseException) -> bool:
    """Tell whether an error means the store cannot serve now (as opposed to a bug or bad data)."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if exc.orig is not None and exc.orig is not exc:
            return is_outage(exc.orig)
    if isinstance(exc, sqlite3.OperationalError):
        return any(marker in str(exc).lower() for marker in _SQLITE_OUTAGES)
    return isinstance(exc, OUTAGE_TYPES)


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Turn an outage of the store met by `what` into StoreUnavailable (503 + Retry-After)."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:
        if not is_outage(exc):
            raise
        raise StoreUnavailable(f"{what} cannot reach the store: {type(exc).__name__}") from exc


class Backoff:
    """Bounded exponential back-off with jitter between reconnect attempts (no thundering herd)."""

    def __init__(self, *, first: float = 0.1, cap: float = 2.0) -> None:
        self._first = first
        self._cap = cap
        self._delay = 0.0
        self._not_before = 0.0

    def ready(self) -> bool:
        """Tell whether a reconnect may be tried now."""
        return time.monotonic() >= self._not_before

    def wait(self) -> float:
        """Return the seconds until the next attempt is allowed (0 when it is)."""
        return max(0.0, self._not_before - time.monotonic())

    def failed(self) -> None:
        """Note a failed attempt: the next one waits longer, up to the cap."""
        self._delay = min(self._cap, max(self._first, self._delay * 2))
        self._not_before = time.monotonic() + self._delay * random.uniform(0.5, 1.0)

    def succeeded(self) -> None:
        """Note a success: the next failure starts from the first delay again."""
        self._delay = 0.0
        self._not_before = 0.0


log = logging.getLogger(__name__)


async def _outage(request: Request, exc: Exception) -> Response:
    from gateway.errors import GatewayError
    from gateway.problem_json import problem_response

    if not is_outage(exc):  # a bug, not an outage: the same 500 the catch-all gives
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(
            GatewayError("an internal error occurred; it has been logged"), request=request
        )
    log.warning("store outage on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        StoreUnavailable(f"the store cannot serve now: {type(exc).__name__}"), request=request
    )


def install_outage_handler(app: FastAPI) -> None:
    """Answer store outages met anywhere below the routes 503 + Retry-After (audited like any answer)."""
    # Handlers for these classes run inside the audit middleware (the catch-all Exception one does not),
    # so the 503 is audited and the connection stays usable for the client's next request.
    for cls in {*OUTAGE_TYPES, sa_exc.DBAPIError, sqlite3.OperationalError}:
        app.add_exception_handler(cls, _outage)
