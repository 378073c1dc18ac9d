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
from tests.contract.conftest import PROFILES, contract_settings, register, seed

MAX_EXAMPLES = 6
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    derandomize=True,
)


class Api:
    """A started app (by schemathesis's ASGI runner) with tokens per profile."""

    def __init__(self, schema: Any, tokens: dict[str, str]) -> None:
        self.schema = schema
        self.tokens = tokens


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[Api]:
    """Seed a demo county, register the demo clients, load the schema from the app, mint real tokens."""
    import shutil

    from gateway.db import make_sync_engine

    tmp = tmp_path_factory.mktemp("contract")
    db = tmp / "gateway.db"
    shutil.copyfile(_sqlite_template, db)
    url = f"sqlite:///{db}"
    engine: Engine = make_sync_engine(url)
    seed(engine)
    secrets = {name: register(engine, p) for name, p in PROFILES.items()}
    engine.dispose()
    app = create_app(contract_settings(url, tmp))
    # An opaque cursor is a string to the schema, yet only issued ones are accepted: 400 invalid-cursor is
    # the documented answer to a well-formed but foreign cursor, so positive data may meet it.
    config = schemathesis.Config.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404",
                                                                        "409", "429"]}}}
    )
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


@pytest.mark.parametrize("profile", ["county", "village", "auditor", "anonymous"])
def test_every_operation_as(api: Api, profile: str) -> None:
    """Every default check passes on every operation, positive and negative data, as this profile."""
    failures = []
    for result in api.schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _run(api, op, profile, mode)
            if failure:
                failures.append(failure)
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
