"""HTTP client of the HR API: the envelope, retries with backoff and jitter, 429 with Retry-After.

Classifying an answer (`_envelope_data`: data, Transient, RateLimited or fatal) is kept apart from the
retry policy (`HrClient._retrying`, on tenacity), as singer-sdk keeps its error classes apart from
its backoff.

Every answer is HTTP 200 with an envelope `{"code", "msg", "data"}`; code 0000 is success, 1001 a bad
key (fatal), 2003 an expired page token (the listing restarts), 5000 an internal error (retried). HTTP
429 is waited out for Retry-After seconds; 503, 502, 504, 500, timeouts, dropped connections and
truncated bodies are retried with exponential backoff and full jitter, a bounded number of times, after
which the sync of the source fails with the last problem (and keeps the pages it committed).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from connectors.sdk.errors import FatalSourceError, RetriableSourceError

_RETRY_HTTP = frozenset({500, 502, 503, 504})


class PageTokenExpired(RetriableSourceError):
    """Envelope code 2003: the page token expired; the listing must restart."""


class Transient(Exception):
    """A failure another attempt may cure: 5xx, timeouts, dropped connections, truncated bodies, 5000."""


class RateLimited(Transient):
    """HTTP 429: waited out for the Retry-After the response asks, on a budget of its own."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__("HTTP 429")
        self.response = response


class HrClient:
    """A keyed client of one HR API base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        timeout: float,
        max_attempts: int,
        backoff: float,
        backoff_max: float,
        max_retry_after: float,
        max_rate_limited: int,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Build the client; the key travels only in the X-Api-Key header, never in a message."""
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"X-Api-Key": api_key, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_rate_limited = max_rate_limited
        self._sleep = sleep
        self._jitter = jitter
        self.waited = 0.0

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def delay(self, attempt: int) -> float:
        """Return the backoff before retry `attempt` (1-based): full jitter over an exponential cap."""
        cap = min(self.backoff_max, self.backoff * (2 ** (attempt - 1)))
        return cap * (0.5 + self._jitter() / 2)

    def retry_after(self, response: httpx.Response, attempt: int) -> float:
        """Return the wait a 429 asks for (seconds or an HTTP date), capped; backoff when absent."""
        value = response.headers.get("Retry-After", "").strip()
        wait: float | None = None
        if value.isdigit():
            wait = float(value)
        elif value:
            when = email.utils.parsedate_to_datetime(value) if "," in value else None
            if when is not None:
                wait = max(0.0, when.timestamp() - time.time())
        if wait is None:
            wait = self.delay(attempt)
        return min(wait, self.max_retry_after)

    def _pause(self, seconds: float) -> None:
        self.waited += seconds
        self._sleep(seconds)

    def data(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET `path` and return the `data` of a successful envelope, retrying what can be retried."""
        data: dict[str, Any] = self._retrying(path)(self._attempt, path, params)
        return data

    def _retrying(self, path: str) -> Retrying:
        """Return the retry policy of one request: two budgets, 429s waited out, the rest backed off."""
        tally = _Tally()

        def count(state: RetryCallState) -> None:
            if isinstance(_problem(state), RateLimited):
                tally.limited += 1
            else:
                tally.failures += 1

        def wait(state: RetryCallState) -> float:
            problem = _problem(state)
            if isinstance(problem, RateLimited):
                return self.retry_after(problem.response, tally.limited)
            return self.delay(tally.failures)

        def give_up(state: RetryCallState) -> Any:
            problem = _problem(state)
            if isinstance(problem, RateLimited):
                raise RetriableSourceError(
                    f"HR API {path}: still rate limited (HTTP 429) after {tally.limited - 1} waits"
                )
            raise RetriableSourceError(
                f"HR API {path}: {problem}, still failing after {tally.failures} attempts; "
                "the pages committed so far are kept and the next sync resumes after them"
            )

        return Retrying(
            retry=retry_if_exception_type(Transient),
            after=count,
            stop=lambda _: tally.limited > self.max_rate_limited or tally.failures >= self.max_attempts,
            wait=wait,
            sleep=self._pause,
            retry_error_callback=give_up,
        )

    def _attempt(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """Make one request and return its data; classify a failure as Transient, RateLimited or fatal."""
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise Transient(f"timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise Transient(f"connection failed ({type(exc).__name__})") from exc
        return _envelope_data(path, response)


@dataclass(slots=True)
class _Tally:
    """What one request has spent of its two budgets."""

    failures: int = 0
    limited: int = 0


def _problem(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _envelope_data(path: str, response: httpx.Response) -> dict[str, Any]:
    """Return the data of a successful envelope; raise Transient, RateLimited or FatalSourceError."""
    if response.status_code == 429:
        raise RateLimited(response)
    if response.status_code in _RETRY_HTTP:
        raise Transient(f"HTTP {response.status_code}")
    if response.status_code != 200:
        raise FatalSourceError(f"HR API {path}: unexpected HTTP {response.status_code}")
    try:
        envelope = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise Transient("truncated or malformed JSON body") from None
    if not isinstance(envelope, dict):
        raise FatalSourceError(f"HR API {path}: the answer is not an envelope")
    code = str(envelope.get("code"))
    if code == "0000":
        data = envelope.get("data")
        return data if isinstance(data, dict) else {}
    if code == "1001":
        raise FatalSourceError(
            "HR API rejected the API key (code 1001): check the variable named by api_key_env"
        )
    if code == "2003":
        raise PageTokenExpired(f"HR API {path}: page token expired (code 2003)")
    if code == "5000":
        raise Transient("internal error (code 5000)")
    raise FatalSourceError(f"HR API {path}: error code {code}: {envelope.get('msg')}")
