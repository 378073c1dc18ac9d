"""The fake HR API over real TCP: the protocol of docs/sources.md, paging, and every injectable fault."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.demo import generate_county
from connectors.demo.fake_hr import FakeHrServer

KEY = "test-key"
PERSONS = "/api/v2/persons"


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate a small county once for the module."""
    out = tmp_path_factory.mktemp("hr-county")
    generate_county(out, residents=1500)
    return out


@pytest.fixture(scope="module")
def server(county_dir: Path) -> Iterator[FakeHrServer]:
    """Serve the county's HR data for the module."""
    with FakeHrServer(county_dir, api_key=KEY) as hr:
        yield hr


@pytest.fixture
def client(hr: FakeHrServer) -> Iterator[httpx.Client]:
    """An HTTP client with the right key."""
    with httpx.Client(base_url=hr.url, headers={"X-Api-Key": KEY}, timeout=5) as c:
        yield c


def local_items(county_dir: Path) -> list[dict[str, Any]]:
    """Read the generated persons.jsonl."""
    return [
        orjson.loads(line) for line in (county_dir / "hr_api" / "persons.jsonl").read_bytes().splitlines()
    ]


def instant(text: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp."""
    return dt.datetime.fromisoformat(text)


def sync(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Page through /persons to the end and return every item."""
    items: list[dict[str, Any]] = []
    token = None
    while True:
        query = dict(params) | ({"pageToken": token} if token else {})
        answer = client.get(PERSONS, params=query)
        assert answer.status_code == 200
        doc = answer.json()
        assert doc["code"] == "0000", doc
        items += doc["data"]["items"]
        token = doc["data"]["nextPageToken"]
        if token is None:
            return items


def test_pages_through_every_item_in_stable_order(client: httpx.Client, county_dir: Path) -> None:
    items = sync(client, pageSize=97)
    expected = local_items(county_dir)
    assert len(items) == len(expected)
    assert sorted(items, key=lambda i: i["personId"]) == sorted(expected, key=lambda i: i["personId"])
    keys = [(instant(i["updatedAt"]), i["personId"]) for i in items]
    assert keys == sorted(keys)
    assert sync(client, pageSize=500) == items


def test_envelope_and_opaque_tokens(client: httpx.Client, hr: FakeHrServer) -> None:
    doc = client.get(PERSONS, params={"pageSize": 3}).json()
    assert doc["code"] == "0000" and doc["msg"] == "成功"
    assert set(doc["data"]) == {"items", "nextPageToken"} and len(doc["data"]["items"]) == 3
    token = doc["data"]["nextPageToken"]
    assert isinstance(token, str) and not token.isdigit() and len(token) >= 16
    again = client.get(PERSONS, params={"pageSize": 3, "pageToken": token}).json()
    repeat = client.get(PERSONS, params={"pageSize": 3, "pageToken": token}).json()
    assert again == {**repeat, "data": {**repeat["data"], "nextPageToken": again["data"]["nextPageToken"]}}
    assert [r.page for r in hr.requests] == [1, 2, 2]


def test_updated_since_filters_inclusively(client: httpx.Client, county_dir: Path) -> None:
    stamps = sorted({i["updatedAt"] for i in local_items(county_dir)}, key=instant)
    since = stamps[len(stamps) // 2]
    items = sync(client, pageSize=200, updatedSince=since)
    expected = [i for i in local_items(county_dir) if instant(i["updatedAt"]) >= instant(since)]
    assert sorted(i["personId"] for i in items) == sorted(i["personId"] for i in expected)
    utc = instant(since).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert len(sync(client, pageSize=200, updatedSince=utc)) == len(expected)


def test_bad_or_missing_key_is_envelope_1001(hr: FakeHrServer) -> None:
    for headers in ({"X-Api-Key": "wrong"}, {}):
        answer = httpx.get(f"{hr.url}{PERSONS}", headers=headers)
        assert answer.status_code == 200
        assert answer.json() == {"code": "1001", "msg": "API Key 无效", "data": None}
    answer = httpx.get(f"{hr.url}/api/v2/services", headers={"X-Api-Key": "wrong"})
    assert answer.json()["code"] == "1001"


def test_page_size_and_since_are_validated(client: httpx.Client) -> None:
    for params in ({"pageSize": 0}, {"pageSize": 501}, {"pageSize": "x"}, {"updatedSince": "yesterday"}):
        assert client.get(PERSONS, params=params).json()["code"] == "4000", params
    assert len(client.get(PERSONS, params={"pageSize": 500}).json()["data"]["items"]) == 500


def test_services(client: httpx.Client) -> None:
    doc = client.get("/api/v2/services").json()
    assert doc["code"] == "0000" and doc["data"]["nextPageToken"] is None
    first = doc["data"]["items"][0]
    assert set(first) == {"serviceCode", "serviceName", "channels", "hall", "promiseDays", "active"}


def test_rate_limit_on_nth_request(client: httpx.Client, hr: FakeHrServer) -> None:
    fault = hr.add_fault("rate_limit", on_request=2, retry_after=7)
    assert client.get(PERSONS).status_code == 200
    limited = client.get(PERSONS)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert client.get(PERSONS).status_code == 200
    assert fault.fired == 1
    assert [r.status for r in hr.requests] == [200, 429, 200]


def test_rate_limit_at_a_rate(client: httpx.Client, hr: FakeHrServer) -> None:
    hr.add_fault("rate_limit", rate=0.5, times=None)
    statuses = [client.get(PERSONS, params={"pageSize": 1}).status_code for _ in range(40)]
    assert 5 < statuses.count(429) < 35 and statuses.count(200) + statuses.count(429) == 40


def test_unavailable_then_recovers(client: httpx.Client, hr: FakeHrServer) -> None:
    hr.add_fault("unavailable", times=2)
    assert [client.get(PERSONS).status_code for _ in range(3)] == [503, 503, 200]


def test_slow_answer(client: httpx.Client, hr: FakeHrServer) -> None:
    hr.add_fault("slow", on_request=1, delay=0.4)
    started = time.perf_counter()
    assert client.get(PERSONS).json()["code"] == "0000"
    assert time.perf_counter() - started >= 0.4
    hr.add_fault("slow", delay=0.6)
    with pytest.raises(httpx.ReadTimeout):
        client.get(PERSONS, timeout=0.2)
    hr.reset()
    time.sleep(0.6)
    assert hr.requests == [] and hr.request_count == 0


def test_internal_error_then_resume_from_the_same_page(client: httpx.Client, hr: FakeHrServer) -> None:
    hr.add_fault("internal_error", on_page=2)
    first = client.get(PERSONS, params={"pageSize": 10}).json()
    token = first["data"]["nextPageToken"]
    failed = client.get(PERSONS, params={"pageSize": 10, "pageToken": token}).json()
    assert failed == {"code": "5000", "msg": failed["msg"], "data": None}
    retried = client.get(PERSONS, params={"pageSize": 10, "pageToken": token}).json()
    assert retried["code"] == "0000" and len(retried["data"]["items"]) == 10


def test_page_token_expiry_on_a_given_page(client: httpx.Client, hr: FakeHrServer) -> None:
    hr.add_fault("token_expired", on_page=3)
    token = client.get(PERSONS, params={"pageSize": 5}).json()["data"]["nextPageToken"]
    token = client.get(PERSONS, params={"pageSize": 5, "pageToken": token}).json()["data"]["nextPageToken"]
    assert client.get(PERSONS, params={"pageSize": 5, "pageToken": token}).json()["code"] == "2003"
    assert client.get(PERSONS, params={"pageSize": 5, "pageToken": token}).json()["code"] == "2003"
    assert client.get(PERSONS, params={"pageSize": 5}).json()["code"] == "0000"


def test_page_tokens_expire_with_time(county_dir: Path) -> None:
    with FakeHrServer(county_dir, api_key=KEY, token_ttl=0.2) as hr:
        headers = {"X-Api-Key": KEY}
        token = httpx.get(f"{hr.url}{PERSONS}", headers=headers).json()["data"]["nextPageToken"]
        time.sleep(0.3)
        answer = httpx.get(f"{hr.url}{PERSONS}", headers=headers, params={"pageToken": token})
        assert answer.json()["code"] == "2003"
        assert (
            httpx.get(f"{hr.url}{PERSONS}", headers=headers, params={"pageToken": "forged"}).json()["code"]
            == "2003"
        )


def test_connection_dropped_mid_response(client: httpx.Client, hr: FakeHrServer) -> None:
    hr.add_fault("drop", on_page=2)
    token = client.get(PERSONS, params={"pageSize": 50}).json()["data"]["nextPageToken"]
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(PERSONS, params={"pageSize": 50, "pageToken": token})
    again = client.get(PERSONS, params={"pageSize": 50, "pageToken": token}).json()
    assert again["code"] == "0000" and len(again["data"]["items"]) == 50
    assert [r.fault for r in hr.requests] == [None, "drop", None]


def test_full_sync_survives_every_fault(client: httpx.Client, hr: FakeHrServer, county_dir: Path) -> None:
    hr.add_fault("rate_limit", on_request=2, retry_after=0)
    hr.add_fault("unavailable", on_request=4)
    hr.add_fault("internal_error", on_request=6)
    hr.add_fault("drop", on_request=8)
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(100):
        query = {"pageSize": 200} | ({"pageToken": token} if token else {})
        try:
            answer = client.get(PERSONS, params=query)
        except httpx.TransportError:
            continue
        if answer.status_code != 200 or answer.json()["code"] != "0000":
            continue
        data = answer.json()["data"]
        items += data["items"]
        token = data["nextPageToken"]
        if token is None:
            break
    assert len(items) == len(local_items(county_dir)) == len({i["personId"] for i in items})
    assert all(f.fired == 1 for f in hr.faults)


def test_request_log(client: httpx.Client, hr: FakeHrServer) -> None:
    client.get(PERSONS, params={"pageSize": 2, "updatedSince": "2025-01-01T00:00:00+08:00"})
    httpx.get(f"{hr.url}/api/v2/services", headers={"X-Api-Key": "nope"})
    assert hr.request_count == 2
    first, second = hr.requests
    assert (first.n, first.path, first.page, first.code, first.items) == (1, PERSONS, 1, "0000", 2)
    assert first.query == {"pageSize": "2", "updatedSince": "2025-01-01T00:00:00+08:00"}
    assert (second.path, second.api_key, second.code) == ("/api/v2/services", "nope", "1001")


def test_admin_endpoint_for_out_of_process_use(client: httpx.Client, hr: FakeHrServer) -> None:
    spec = {"faults": [{"kind": "rate_limit", "on_request": 1, "retry_after": 2}, {"kind": "internal_error"}]}
    listed = client.post("/_faults", json=spec).json()
    assert [f["kind"] for f in listed] == ["rate_limit", "internal_error"]
    assert client.get(PERSONS).status_code == 429
    assert client.get(PERSONS).json()["code"] == "5000"
    log = client.get("/_requests").json()
    assert log["count"] == 2 and [r["status"] for r in log["requests"]] == [429, 200]
    assert client.post("/_faults", json={"faults": [{"kind": "meltdown"}]}).status_code == 400
    client.post("/_faults", json={"faults": [{"kind": "unavailable", "times": None}]})
    assert client.delete("/_faults").json() == []
    assert client.get(PERSONS).status_code == 200
    assert client.post("/_reset").json() == {"reset": True}
    assert hr.request_count == 0


def test_serves_the_sample_pages(samples: Path) -> None:
    with FakeHrServer(samples, api_key=KEY) as hr, httpx.Client(base_url=hr.url) as c:
        c.headers["X-Api-Key"] = KEY
        items = sync(c, pageSize=50)
        assert len(items) == 173 and len({i["personId"] for i in items}) == 173
        assert c.get("/api/v2/services").json()["data"]["items"][0]["serviceCode"] == "RS101"


def test_only_loopback(county_dir: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeHrServer(county_dir, host="0.0.0.0")


def test_command_line(county_dir: Path) -> None:
    command = [sys.executable, "-m", "connectors.demo.fake_hr", "--data", str(county_dir), "--port", "0"]
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    with subprocess.Popen([*command, "--api-key", KEY], stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = line.split(" on ", 1)[1].split()[0]
            assert url.startswith("http://127.0.0.1:")
            assert httpx.get(f"{url}{PERSONS}", headers={"X-Api-Key": KEY}).json()["code"] == "0000"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
