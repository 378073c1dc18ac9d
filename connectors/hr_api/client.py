"""HTTP client of the HR API: the envelope, retries with backoff and jitter, 429 with Retry-After.

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
from typing import Any

import httpx
import orjson

from connectors.sdk.errors import FatalSourceError, RetriableSourceError

_RETRY_HTTP = frozenset({500, 502, 503, 504})


class PageTokenExpired(RetriableSourceError):
    """Envelope code 2003: the page token expired; the listing must restart."""


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
        self.retries = 0
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
        failures = limited = 0
        while True:
            problem = self._attempt(path, params)
            if isinstance(problem, dict):
                return problem
            if problem == "429":
                limited += 1
                if limited > self.max_rate_limited:
                    raise RetriableSourceError(
                        f"HR API {path}: still rate limited (HTTP 429) after {limited - 1} waits"
                    )
                assert self._last is not None
                self._pause(self.retry_after(self._last, limited))
                continue
            failures += 1
            if failures >= self.max_attempts:
                raise RetriableSourceError(
                    f"HR API {path}: {problem}, still failing after {failures} attempts; "
                    "the pages committed so far are kept and the next sync resumes after them"
                )
            self.retries += 1
            self._pause(self.delay(failures))

    _last: httpx.Response | None = None

    def _attempt(self, path: str, params: dict[str, Any]) -> dict[str, Any] | str:
        """Make one request: the data on success, else a description of a retriable problem."""
        self._last = None
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            return f"timed out ({type(exc).__name__})"
        except httpx.TransportError as exc:
            return f"connection failed ({type(exc).__name__})"
        self._last = response
        if response.status_code == 429:
            return "429"
        if response.status_code in _RETRY_HTTP:
            return f"HTTP {response.status_code}"
        if response.status_code != 200:
            raise FatalSourceError(f"HR API {path}: unexpected HTTP {response.status_code}")
        try:
            envelope = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return "truncated or malformed JSON body"
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
            return "internal error (code 5000)"
        raise FatalSourceError(f"HR API {path}: error code {code}: {envelope.get('msg')}")
