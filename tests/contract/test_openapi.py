"""The OpenAPI contract is valid and complete: a new route without its summary, description, tags,
security, headers, examples or problem responses fails here.

Independent of the code under test: it reads the document the running app serves and the app's own
answers; the rules of what an operation must document are written here, not imported.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from typer.testing import CliRunner

from gateway import cli
from gateway.app import create_app
from gateway.auth.scopes import ALL_SCOPES
from tests.contract.conftest import contract_settings

AUDIT_HEADERS = ("X-End-User", "X-Case-Id", "X-On-Behalf-Of")
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
AUDITED = ("/v1/", "/oauth/")  # where the README promises every access is audited


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[TestClient]:
    """Return a client of a started app on a migrated store (the document as served, and its answers)."""
    tmp = tmp_path_factory.mktemp("openapi")
    shutil.copyfile(_sqlite_template, tmp / "gateway.db")
    with TestClient(create_app(contract_settings(f"sqlite:///{tmp / 'gateway.db'}", tmp))) as client:
        yield client


@pytest.fixture(scope="module")
def app_and_doc(served: TestClient) -> tuple[Any, dict[str, Any]]:
    """Return the started app and the OpenAPI document it serves at /openapi.json."""
    r = served.get("/openapi.json")
    assert r.status_code == 200
    return served.app, r.json()


def required_statuses(path: str, op: dict[str, Any]) -> set[int]:
    """Return the problem statuses an operation must document, by what it declares (this test's rules)."""
    statuses: set[int] = set()
    params = op.get("parameters", [])
    if path.startswith(AUDITED):
        statuses |= {400, 503}  # an invalid accountability header; the audit log cannot commit
    if any("oauth2" in req for req in op.get("security", [])):
        statuses |= {401, 403, 429}  # every authenticated request counts against its client's rate
    if path == "/oauth/token":
        statuses.add(429)  # sign-in limits
    if not path.startswith("/oauth/") and (params or "requestBody" in op):
        statuses.add(422)
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if any(p.get("in") == "header" and p.get("name") == "X-Purpose" for p in params):
        statuses |= {403, 429}
    return statuses


def resolve(doc: dict[str, Any], ref: str) -> dict[str, Any] | None:
    """Return the operation an OpenAPI `operationRef` (`#/paths/<pointer>/<method>`) names, or None."""
    match = re.fullmatch(r"#/paths/(.+)/([a-z]+)", ref)
    if match is None:
        return None
    path = unquote(match.group(1)).replace("~1", "/").replace("~0", "~")
    found: dict[str, Any] | None = doc["paths"].get(path, {}).get(match.group(2))
    return found


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (method, path, operation) for every operation of the document."""
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def test_document_is_valid_openapi(app_and_doc: tuple[Any, dict[str, Any]]) -> None:
    """openapi-spec-validator accepts the document the app serves."""
    validate(app_and_doc[1])


def test_export_command_writes_a_valid_document(tmp_path: Path) -> None:
    """`gateway openapi export FILE` writes the same, valid document."""
    out = tmp_path / "openapi.json"
    result = CliRunner().invoke(cli.app, ["openapi", "export", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    assert "/v1/residents" in doc["paths"]


def _has_example(media: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if ("example" in media and media["example"] is not None) or media.get("examples"):
        return True
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return bool(schema.get("examples"))


def test_every_operation_is_complete(app_and_doc: tuple[Any, dict[str, Any]]) -> None:
    """Summary, description, tags, security with scopes, headers, examples and problem responses."""
    doc = app_and_doc[1]
    declared_tags = {t["name"] for t in doc.get("tags", [])}
    op_ids = {op["operationId"] for _, _, op in operations(doc)}
    problems: list[str] = []
    for method, path, op in operations(doc):
        gaps = [
            *_operation_gaps(path, op=op, declared_tags=declared_tags),
            *_response_gaps(doc, path=path, op=op, op_ids=op_ids),
        ]
        problems += [f"{method.upper()} {path}: {what}" for what in gaps]
    assert not problems, "incomplete operations:\n" + "\n".join(problems)


def _operation_gaps(path: str, *, op: dict[str, Any], declared_tags: set[str]) -> list[str]:
    """List what an operation lacks: names, tags, security, audit headers, a documented X-Purpose."""
    gaps: list[str] = []
    for key in ("summary", "description", "operationId"):
        if not str(op.get(key, "")).strip():
            gaps.append(f"no {key}")
    if not op.get("tags") or not set(op["tags"]) <= declared_tags:
        gaps.append(f"tags {op.get('tags')} missing or not declared at the top level")
    if "security" not in op:
        gaps.append("no explicit security (use [] for a public operation)")
    if path.startswith("/v1/"):
        reqs = op.get("security", [])
        if not reqs or any("oauth2" not in r for r in reqs):
            gaps.append("a /v1 operation must require an oauth2 bearer token")
        for r in reqs:
            unknown = set(r.get("oauth2", [])) - ALL_SCOPES
            if unknown:
                gaps.append(f"unknown scopes {sorted(unknown)}")
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        for name in AUDIT_HEADERS:
            if name not in headers:
                gaps.append(f"header {name} not documented")
    purpose = [p for p in op.get("parameters", []) if p["in"] == "header" and p["name"] == "X-Purpose"]
    if purpose:  # the policy dependency documents X-Purpose; it also rate-limits and refuses
        if not purpose[0].get("description") or purpose[0].get("required"):
            gaps.append("X-Purpose must be documented, optional (403 purpose-required says why)")
        if not {"403", "429"} <= set(op["responses"]):
            gaps.append("a policy route must document 403 and 429")
    return gaps


def _response_gaps(doc: dict[str, Any], *, path: str, op: dict[str, Any], op_ids: set[str]) -> list[str]:
    """List what an operation's responses and request body lack: statuses, headers, examples, links."""
    schemas = doc["components"]["schemas"]
    gaps: list[str] = []
    responses = op.get("responses", {})
    if any(p["name"] == "cursor" for p in op.get("parameters", [])):
        examples = responses.get("400", {}).get("content", {}).get(PROBLEM_JSON, {}).get("examples", {})
        if not any(e["value"]["type"] == "/problems/invalid-cursor" for e in examples.values()):
            gaps.append("a cursor parameter without the invalid-cursor problem")
    if not any(s.startswith("2") for s in responses):
        gaps.append("no success response")
    for status in required_statuses(path, op):
        if str(status) not in responses:
            gaps.append(f"{status} not documented")
    for status, entry in responses.items():
        if not entry.get("description"):
            gaps.append(f"{status} has no description")
        if "X-Request-Id" not in entry.get("headers", {}):
            gaps.append(f"{status} does not document X-Request-Id")
        content = entry.get("content", {})
        if not content and status != "204":
            gaps.append(f"{status} has no content")
        for media_type, media in content.items():
            if not _has_example(media, schemas):
                gaps.append(f"{status} {media_type} has no example")
        if status[0] in "45" and path.startswith("/v1/"):
            media = content.get(PROBLEM_JSON)
            if media is None or media.get("schema") != {"$ref": PROBLEM_REF}:
                gaps.append(f"{status} is not problem+json with the Problem component")
        if status == "429" and not entry["headers"].get("Retry-After", {}).get("required"):
            gaps.append("429 without a required Retry-After header")
        for name, link in entry.get("links", {}).items():
            if link.get("operationId") not in op_ids and resolve(doc, link.get("operationRef", "")) is None:
                gaps.append(f"link {name} to an unknown operation")
    for media_type, media in op.get("requestBody", {}).get("content", {}).items():
        if not _has_example(media, schemas):
            gaps.append(f"request body {media_type} has no example")
    return gaps


def test_resources_link_to_each_other(app_and_doc: tuple[Any, dict[str, Any]]) -> None:
    """The list responses link to their get-by-id operations (stateful tests follow them)."""
    doc = app_and_doc[1]
    links = doc["paths"]["/v1/residents"]["get"]["responses"]["200"]["links"]
    assert (
        resolve(doc, links["GetResident"]["operationRef"])
        is doc["paths"]["/v1/residents/{resident_id}"]["get"]
    )
    assert links["GetResident"]["parameters"] == {"resident_id": "$response.body#/items/0/id"}
    linked = sum(len(e.get("links", {})) for _, _, op in operations(doc) for e in op["responses"].values())
    assert linked >= 33, linked  # every link the document had before they moved onto the routes


def _call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    """Call an operation with every path parameter filled with a harmless value."""
    return client.request(method.upper(), re.sub(r"\{[^}]+\}", "x1", path), **kwargs)


def test_every_answer_without_a_token_is_documented(served: TestClient, app_and_doc: Any) -> None:
    """Each protected operation, called without a token, answers a status and media type it documents
    (problem+json under /v1), with the X-Request-Id (and on audited paths the X-Audit-Seq) it documents."""
    doc = app_and_doc[1]
    wrong: list[str] = []
    for method, path, op in operations(doc):
        if not op.get("security"):
            continue
        r = _call(served, method, path)
        entry = op["responses"].get(str(r.status_code))
        if entry is None:
            wrong.append(f"{method} {path}: {r.status_code} not documented")
            continue
        media_type = r.headers["content-type"].split(";")[0]
        if media_type not in entry.get("content", {}):
            wrong.append(f"{method} {path}: {r.status_code} answers undocumented {media_type}")
        elif path.startswith("/v1/") and media_type != PROBLEM_JSON:
            wrong.append(f"{method} {path}: {r.status_code} is not problem+json")
        for name in ("X-Request-Id", "X-Audit-Seq"):
            if name.lower() in r.headers and name not in entry.get("headers", {}):
                wrong.append(f"{method} {path}: {r.status_code} sends undocumented {name}")
    assert not wrong, "\n".join(wrong)


def test_a_bad_accountability_header_is_a_documented_400(served: TestClient, app_and_doc: Any) -> None:
    """An over-long X-End-User is refused 400 before any other layer, on every operation documenting it."""
    doc = app_and_doc[1]
    checked = 0
    for method, path, op in operations(doc):
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        if "X-End-User" not in names:
            continue
        r = _call(served, method, path, headers={"X-End-User": "x" * 200})
        assert r.status_code == 400, (method, path, r.status_code)
        examples = op["responses"]["400"]["content"][PROBLEM_JSON]["examples"]
        assert r.json()["type"] in {e["value"]["type"] for e in examples.values()}, (method, path)
        checked += 1
    assert checked >= 50


def test_policy_resources_and_fields_are_declared(app_and_doc: tuple[Any, dict[str, Any]]) -> None:
    """Operations the policy governs name their resource; their filters name the field (issue 12)."""
    doc = app_and_doc[1]
    governed = {path for _, path, op in operations(doc) if op.get("x-policy-resource")}
    assert {"/v1/residents", "/v1/residents/{resident_id}", "/v1/households/{household_id}"} <= governed
    residents = doc["paths"]["/v1/residents"]["get"]
    assert residents["x-policy-resource"] == "residents"
    fields = {
        p["name"]: p.get("schema", {}).get("x-field") for p in residents["parameters"] if p["in"] == "query"
    }
    assert fields.get("tag") == "tags", fields
