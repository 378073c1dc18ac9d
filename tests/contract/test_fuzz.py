"""Schemathesis 4 in process: every operation, every default check, as three demo clients and as nobody;
then stateful runs through the OpenAPI links. Examples are bounded to keep `make test` short."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from sqlalchemy import Engine

from gateway.app import create_app
from tests.contract import formats  # noqa: F401  (registers the gb11643 format's generator)
from tests.contract.conftest import PROFILES, contract_settings, register, seed
from tests.support.stores import sqlite_copy

# Per operation, mode and profile: the suite keeps the breadth (every operation, role and link) on a small
# budget; `make fuzz` (scripts/fuzz.sh) is the long run against a live gateway.
MAX_EXAMPLES = 3
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    derandomize=True,
)


# Shared with `make fuzz` (scripts/fuzz.sh writes the same as TOML).
FUZZ_CONFIG: dict[str, Any] = {
    "checks": {
        # An opaque cursor is a string to the schema, yet only issued ones are accepted: 400
        # invalid-cursor is the documented answer to a well-formed but foreign cursor.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]}
    },
    "operations": [
        {
            "include-path": path,
            "include-method": "POST",
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]
                }
            },
        }
        for path in (
            # A sharing application is judged against the live catalogue: only conditional fields, of
            # one owning department, for a policy purpose, ending after it starts (政务数据共享条例).
            "/v1/sharing-requests",
            # A webhook target must lie under an operator's allowed prefix (GATEWAY_WEBHOOK_ALLOWED_URLS;
            # no SSRF): deployment configuration, not schema.
            "/v1/subscriptions",
            # A consent names one of the policy's purposes (reloadable), exactly one of resident_id or
            # national_id, and a period not yet over that ends after it starts.
            "/v1/consents",
        )
    ],
}


# The in-process stateful runs: only the document's own links (links inferred from responses lead into state
# that changes as the run goes on, which hypothesis reads as a flaky strategy), schema-valid data only (the
# one-by-one runs cover negative data).
STATEFUL_CONFIG: dict[str, Any] = {
    "checks": FUZZ_CONFIG["checks"],
    "phases": {"stateful": {"inference": {"algorithms": []}, "generation": {"mode": "positive"}}},
}


class Api:
    """A started app (by schemathesis's ASGI runner) with tokens per profile."""

    def __init__(self, schema: Any, tokens: dict[str, str]) -> None:
        self.schema = schema
        self.tokens = tokens


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[Api]:
    """Seed a demo county, register the demo clients, load the schema from the app, mint real tokens."""
    from store.engines import make_sync_engine

    tmp = tmp_path_factory.mktemp("contract")
    url = sqlite_copy(_sqlite_template, tmp / "gateway.db")
    engine: Engine = make_sync_engine(url)
    seed(engine)
    secrets = {name: register(engine, p) for name, p in PROFILES.items()}
    engine.dispose()
    app = create_app(contract_settings(url, tmp))
    # An opaque cursor is a string to the schema, yet only issued ones are accepted: 400 invalid-cursor is
    # the documented answer to a well-formed but foreign cursor, so positive data may meet it.
    config = schemathesis.Config.from_dict(FUZZ_CONFIG)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)  # starts the lifespan
    tokens: dict[str, str] = {}
    with asgi.get_client(app) as client:
        for name, profile in PROFILES.items():
            r = client.post(
                "http://testserver/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(profile.client_id, secrets[name]),
            )
            assert r.status_code == 200, r.text
            tokens[name] = r.json()["access_token"]
    try:
        yield Api(schema, tokens)
    finally:
        asgi.shutdown_lifespans()


def _headers(api: Api, case: Any, profile: str) -> dict[str, str]:
    """Authorization of the profile; its purpose goes into positive cases that document X-Purpose."""
    if profile == "anonymous":
        return {}
    p = PROFILES[profile]
    documented = any(param.name == "X-Purpose" for param in case.operation.headers)
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    if documented and positive and p.purpose and "X-Purpose" not in (case.headers or {}):
        case.headers = {**(case.headers or {}), "X-Purpose": p.purpose}
    return {"Authorization": f"Bearer {api.tokens[profile]}"}


def _run(api: Api, op: Any, profile: str, mode: GenerationMode) -> str | None:
    """Fuzz one operation in one mode as one profile; return the failure, if any."""

    @given(case=op.as_strategy(generation_mode=mode))
    @FUZZ
    def run(case: Any) -> None:
        case.call_and_validate(headers=_headers(api, case, profile))

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # every check failure, reported together
        return f"{op.method.upper()} {op.path} ({mode.value}, {profile}): {exc}"[:3000]
    return None


def _has_inputs(op: Any) -> bool:
    """Tell whether negative data can be generated for an operation (parameters or a body)."""
    return bool(list(op.iter_parameters())) or bool(op.body)


@pytest.mark.parametrize("profile", ["county", "village", "auditor", "agent", "anonymous"])
def test_every_operation_as(api: Api, profile: str) -> None:
    """Every default check passes on every operation, positive and negative data, as this profile."""
    failures: list[str] = []
    for result in api.schema.get_all_operations():
        op = result.ok()
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if _has_inputs(op) else [])
        for mode in modes:
            failure = _run(api, op, profile, mode)
            if failure:
                failures.append(failure)
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)


@pytest.mark.parametrize("profile", ["county", "village"])
def test_stateful_through_links(api: Api, profile: str) -> None:
    """Follow the OpenAPI links (list -> resident -> household -> member, lookup -> resident, ...) with
    every default check on each response, as a county-wide and as a village-limited client."""
    # The resources the links join; the others are entry points already fuzzed one by one above. (A schema
    # loaded with per-operation settings ignores `include`, hence a second load of the same document.)
    linked = schemathesis.openapi.from_dict(
        api.schema.raw_schema, config=schemathesis.Config.from_dict(STATEFUL_CONFIG)
    ).include(path_regex=r"^/v1/(residents|households|notices)")
    linked.app, linked.location = api.schema.app, api.schema.location  # as from_asgi sets them
    base = linked.as_state_machine()
    seen: list[tuple[str, int]] = []

    class Scenario(base):  # type: ignore[valid-type, misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": _headers(api, case, profile)}

        def after_call(self, response: Any, case: Any) -> None:
            seen.append((f"{case.operation.method.upper()} {case.operation.path}", response.status_code))

    Scenario.run(
        settings=settings(
            max_examples=30,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
    # The run followed links into resources, not only entry points: a linked target answered 200.
    targets = {"GET /v1/residents/{resident_id}", "GET /v1/households/{household_id}"}
    assert any(op in targets and status == 200 for op, status in seen), str(sorted(set(seen)))
