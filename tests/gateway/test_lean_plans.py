"""The lean dependency plans (gateway/lean.py) answer exactly what FastAPI's own solver answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway import lean
from schemas.codes import Tag
from tests.support import factories


def _answers(client: TestClient, requests: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, str, Any]]:
    out = []
    for path, params in requests:
        r = client.get(path, params=params)
        body = r.json()
        if isinstance(body, dict):
            for volatile in ("instance", "trace_id"):  # name the request, not the answer
                body.pop(volatile, None)
        out.append((r.status_code, r.headers["content-type"], body))
    return out


def test_lean_plans_answer_as_fastapi_does(
    client: TestClient, store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Valid, invalid and missing inputs give the same status, type and body with the plans and without."""
    ids = [
        factories.add_resident(store_engine, region_code=code, tags=[Tag.ELDERLY]).id
        for code in ("511599100201", "511599100202", "511599200201")
    ]
    requests: list[tuple[str, dict[str, Any]]] = [
        (f"/v1/residents/{ids[0]}", {}),
        ("/v1/residents/R0000000000000", {}),  # a well-formed id nobody holds
        ("/v1/residents/not-an-id", {}),
        ("/v1/residents", {"limit": 2}),
        ("/v1/residents", {"region": "511599100000", "limit": 50}),
        ("/v1/residents", {"limit": 0}),  # fails validation: FastAPI's handler words the problem
        ("/v1/residents", {"limit": "many"}),
        ("/v1/residents", {"cursor": "garbage"}),
        (f"/v1/residents/{ids[1]}/enrollments", {}),
    ]
    runs: list[int] = []
    real_run = lean._run

    async def counting_run(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return await real_run(*args, **kwargs)

    monkeypatch.setattr(lean, "_run", counting_run)
    with_plans = _answers(client, requests)
    planned = len(runs)
    assert planned >= 4, "the residents reads should be solved by their plans"
    # Any dependency override sends every request to FastAPI's own solver.
    app: Any = client.app
    app.dependency_overrides[_answers] = _answers
    try:
        without = _answers(client, requests)
    finally:
        app.dependency_overrides.clear()
    assert len(runs) == planned, "with overrides in force no plan may run"
    assert with_plans == without
