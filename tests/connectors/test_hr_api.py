"""The HR connector against the fake HR API on 127.0.0.1: faults, retries, resumption, incremental sync."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from connectors.demo import CountyManifest
from connectors.demo.fake_hr import FakeHrServer
from connectors.hr_api import HrApiConnector, HrApiSettings
from connectors.hr_api.client import HrClient
from connectors.sdk.errors import FatalSourceError, RetriableSourceError
from connectors.sdk.runner import SyncSummary, run_connectors
from connectors.sdk.testing import TODAY
from tests.connectors.conftest import HR_KEY

PAGE = 50
PERSONS = "/api/v2/persons"


@pytest.fixture(scope="module")
def server(county: tuple[Path, CountyManifest]) -> Iterator[FakeHrServer]:
    """A fake HR server of this module's own (faults must not leak into other modules)."""
    with FakeHrServer(county[0], api_key=HR_KEY) as hr:
        yield hr


def connector(hr: FakeHrServer, **overrides: Any) -> HrApiConnector:
    """Build the connector with a tight retry budget and no backoff wait."""
    settings: dict[str, Any] = {
        "base_url": hr.url,
        "api_key": SecretStr(HR_KEY),
        "page_size": PAGE,
        "max_attempts": 3,
        "backoff_seconds": 0.0,
        "timeout_seconds": 5.0,
    }
    return HrApiConnector(HrApiSettings(**(settings | overrides)))


def sync(store: Engine, hr: FakeHrServer, **overrides: Any) -> SyncSummary:
    """Sync the HR source once; return its summary."""
    return run_connectors(store, [connector(hr, **overrides)], today=TODAY).sources[0]


def stored_keys(store: Engine) -> list[str]:
    """Return the HR person keys in the store (duplicates would show twice)."""
    with store.connect() as conn:
        keys = [
            k for (k,) in conn.execute(text("SELECT record_key FROM resident_source WHERE source='hr_api'"))
        ]
        keys += [k for (k,) in conn.execute(text("SELECT record_key FROM quarantine WHERE source='hr_api'"))]
    return sorted(keys)


def all_person_ids(county: tuple[Path, CountyManifest]) -> list[str]:
    """Return every personId the county's HR holds."""
    lines = (county[0] / "hr_api" / "persons.jsonl").read_bytes().splitlines()
    return sorted(orjson.loads(line)["personId"] for line in lines if line.strip())


def pages(county: tuple[Path, CountyManifest]) -> int:
    """Return the number of pages of a full listing."""
    return -(-len(all_person_ids(county)) // PAGE)


@pytest.mark.parametrize("kind", ["drop", "unavailable"])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_interrupted_sync_resumes_without_duplicates_or_gaps(
    hr: FakeHrServer, store: Engine, county: tuple[Path, CountyManifest], kind: str, where: str
) -> None:
    """A page failing past the retry budget fails the sync; the re-run resumes after the committed pages."""
    page = {"first": 1, "middle": pages(county) // 2, "last": pages(county)}[where]
    hr.add_fault(kind, on_page=page, times=None)  # type: ignore[arg-type]
    failed = sync(store, hr)
    assert not failed.ok and "still failing after 3 attempts" in (failed.error or "")
    assert len(stored_keys(store)) == (page - 1) * PAGE  # exactly the pages before the failing one
    hr.clear_faults()  # page tokens stay valid: the re-run resumes with the last committed one
    before = hr.request_count
    resumed = sync(store, hr)
    assert resumed.ok, resumed.error
    first = next(r for r in hr.requests if r.path == PERSONS and r.n > before)
    assert ("pageToken" in first.query) == (page > 1)  # resumed from the last committed page
    assert stored_keys(store) == all_person_ids(county)
    services = len(orjson.loads((county[0] / "hr_api" / "services.json").read_bytes())["data"]["items"])
    assert resumed.read == len(all_person_ids(county)) - (page - 1) * PAGE + services


def test_rate_limit_honours_retry_after(hr: FakeHrServer, store: Engine) -> None:
    """HTTP 429 is waited out for Retry-After seconds, then the same page is asked again."""
    hr.add_fault("rate_limit", on_page=2, retry_after=1)
    con = connector(hr)
    client = HrClient(
        hr.url,
        api_key=HR_KEY,
        timeout=5,
        max_attempts=3,
        backoff=0,
        backoff_max=0,
        max_retry_after=30,
        max_rate_limited=5,
    )
    con.client = client
    started = time.monotonic()
    summary = run_connectors(store, [con], today=TODAY).sources[0]
    assert summary.ok, summary.error
    assert time.monotonic() - started >= 1.0 and client.waited >= 1.0
    statuses = [(r.page, r.status) for r in hr.requests if r.path == PERSONS]
    assert statuses[1:3] == [(2, 429), (2, 200)]


def test_expired_page_token_restarts_the_listing(
    hr: FakeHrServer, store: Engine, county: tuple[Path, CountyManifest]
) -> None:
    """Code 2003 restarts the pass from its updatedSince; committed records come back unchanged."""
    hr.add_fault("token_expired", on_page=3)
    summary = sync(store, hr)
    assert summary.ok, summary.error
    starts = [r for r in hr.requests if r.path == PERSONS and "pageToken" not in r.query]
    assert len(starts) == 2
    assert stored_keys(store) == all_person_ids(county)
    services = len(orjson.loads((county[0] / "hr_api" / "services.json").read_bytes())["data"]["items"])
    assert summary.read == len(all_person_ids(county)) + 2 * PAGE + services  # pages 1-2 read twice
    with store.connect() as conn:
        persons = conn.execute(
            text("SELECT COUNT(*) FROM resident_source WHERE source='hr_api'")
        ).scalar_one()
    assert summary.created == persons + services  # nothing counted twice as created


def test_internal_error_and_slow_answers_are_retried(hr: FakeHrServer, store: Engine) -> None:
    """Code 5000 and a timed-out request are retried with backoff."""
    hr.add_fault("internal_error", on_page=2, times=2)
    hr.add_fault("slow", on_page=4, delay=1.0)
    summary = sync(store, hr, timeout_seconds=0.3)
    assert summary.ok, summary.error
    codes = [r.code for r in hr.requests if r.path == PERSONS]
    assert codes.count("5000") == 2


def test_bad_key_is_fatal_and_never_echoed(hr: FakeHrServer, store: Engine) -> None:
    """Code 1001 stops the sync at once with a clear message that does not contain the key."""
    summary = sync(store, hr, api_key=SecretStr("wrong-secret-key"))
    assert not summary.ok and "1001" in (summary.error or "")
    assert "wrong-secret-key" not in (summary.error or "")
    assert len([r for r in hr.requests if r.path == PERSONS]) == 1


def test_incremental_sync_asks_for_updated_since(hr: FakeHrServer, store: Engine) -> None:
    """A second sync asks only for persons updated since the newest one seen, and changes nothing."""
    first = sync(store, hr)
    assert first.ok
    hr.reset()
    second = sync(store, hr)
    assert second.ok and (second.created, second.updated) == (0, 0)
    query = next(r for r in hr.requests if r.path == PERSONS).query
    assert query.get("updatedSince") and second.read < first.read


def _transport(answers: list[httpx.Response]) -> httpx.MockTransport:
    queue = iter(answers)
    return httpx.MockTransport(lambda request: next(queue))


def _client(answers: list[httpx.Response], sleeps: list[float], **kw: Any) -> HrClient:
    opts: dict[str, Any] = {
        "timeout": 1,
        "max_attempts": 4,
        "backoff": 1.0,
        "backoff_max": 3.0,
        "max_retry_after": 10,
        "max_rate_limited": 2,
        "jitter": lambda: 1.0,
    }
    return HrClient(
        "http://hr.test", api_key="k", transport=_transport(answers), sleep=sleeps.append, **(opts | kw)
    )


OK = httpx.Response(200, json={"code": "0000", "msg": "成功", "data": {"items": [], "nextPageToken": None}})


def test_backoff_is_exponential_capped_and_jittered() -> None:
    """Waits double from `backoff`, stop at `backoff_max`, and jitter takes them down to half."""
    sleeps: list[float] = []
    client = _client([httpx.Response(503)] * 3 + [OK], sleeps)
    assert client.data(PERSONS, {}) == {"items": [], "nextPageToken": None}
    assert sleeps == [1.0, 2.0, 3.0]
    low = _client([], [], backoff=1, backoff_max=8, jitter=lambda: 0.0)
    assert [low.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_retry_budget_and_rate_limit_budget() -> None:
    """Past max_attempts the error is retriable and says so; past max_rate_limited too."""
    with pytest.raises(RetriableSourceError, match="after 4 attempts"):
        _client([httpx.Response(503)] * 4, []).data(PERSONS, {})
    sleeps: list[float] = []
    limited = [httpx.Response(429, headers={"Retry-After": "7"})] * 3
    with pytest.raises(RetriableSourceError, match="429"):
        _client(limited, sleeps).data(PERSONS, {})
    assert sleeps == [7.0, 7.0]
    date = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    sleeps.clear()
    _client([date, OK], sleeps).data(PERSONS, {})
    assert sleeps == [0.0]  # a date in the past: no wait


def test_envelope_codes() -> None:
    """1001 is fatal, 5000 retried, an unknown code fatal, a truncated body retried."""
    bad_key = httpx.Response(200, json={"code": "1001", "msg": "API Key 无效", "data": None})
    with pytest.raises(FatalSourceError, match="1001"):
        _client([bad_key], []).data(PERSONS, {})
    internal = httpx.Response(200, json={"code": "5000", "msg": "系统内部错误", "data": None})
    assert _client([internal, OK], []).data(PERSONS, {})["items"] == []
    with pytest.raises(FatalSourceError, match="9999"):
        _client([httpx.Response(200, json={"code": "9999", "msg": "?"})], []).data(PERSONS, {})
    truncated = httpx.Response(200, content=b'{"code":"0000","data":{"ite')
    assert _client([truncated, OK], []).data(PERSONS, {})["items"] == []
