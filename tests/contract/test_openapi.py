"""The OpenAPI contract is valid and complete: a new route without its summary, description, tags,
security, headers, examples or problem responses fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from typer.testing import CliRunner

from gateway import cli
from gateway.app import create_app
from gateway.auth.scopes import ALL_SCOPES
from gateway.errors import PROBLEM_JSON
from gateway.openapi import HTTP_METHODS, PROBLEM_REF, standard_statuses
from gateway.settings import Settings

AUDIT_HEADERS = ("X-End-User", "X-Case-Id", "X-On-Behalf-Of")


@pytest.fixture(scope="module")
def app_and_doc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    """Return an app (never started: the document needs no store) and its OpenAPI document."""
    db = tmp_path_factory.mktemp("openapi") / "unused.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}"))
    return app, app.openapi()


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
    schemas = doc["components"]["schemas"]
    declared_tags = {t["name"] for t in doc.get("tags", [])}
    op_ids = {op["operationId"] for _, _, op in operations(doc)}
    problems: list[str] = []

    def bad(method: str, path: str, what: str) -> None:
        problems.append(f"{method.upper()} {path}: {what}")

    for method, path, op in operations(doc):
        for key in ("summary", "description", "operationId"):
            if not str(op.get(key, "")).strip():
                bad(method, path, f"no {key}")
        if not op.get("tags") or not set(op["tags"]) <= declared_tags:
            bad(method, path, f"tags {op.get('tags')} missing or not declared at the top level")
        if "security" not in op:
            bad(method, path, "no explicit security (use [] for a public operation)")
        if path.startswith("/v1/"):
            reqs = op.get("security", [])
            if not reqs or any("oauth2" not in r for r in reqs):
                bad(method, path, "a /v1 operation must require an oauth2 bearer token")
            for r in reqs:
                unknown = set(r.get("oauth2", [])) - ALL_SCOPES
                if unknown:
                    bad(method, path, f"unknown scopes {sorted(unknown)}")
            headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
            for name in AUDIT_HEADERS:
                if name not in headers:
                    bad(method, path, f"header {name} not documented")
        purpose = [p for p in op.get("parameters", []) if p["in"] == "header" and p["name"] == "X-Purpose"]
        if purpose:  # the policy dependency documents X-Purpose; it also rate-limits and refuses
            if not purpose[0].get("description") or purpose[0].get("required"):
                bad(method, path, "X-Purpose must be documented, optional (403 purpose-required says why)")
            if not {"403", "429"} <= set(op["responses"]):
                bad(method, path, "a policy route must document 403 and 429")
        responses = op.get("responses", {})
        if not any(s.startswith("2") for s in responses):
            bad(method, path, "no success response")
        for status in standard_statuses(path, method, op):
            if str(status) not in responses:
                bad(method, path, f"{status} not documented")
        for status, entry in responses.items():
            if not entry.get("description"):
                bad(method, path, f"{status} has no description")
            if "X-Request-Id" not in entry.get("headers", {}):
                bad(method, path, f"{status} does not document X-Request-Id")
            content = entry.get("content", {})
            if not content and status != "204":
                bad(method, path, f"{status} has no content")
            for media_type, media in content.items():
                if not _has_example(media, schemas):
                    bad(method, path, f"{status} {media_type} has no example")
            if status[0] in "45" and path.startswith("/v1/"):
                media = content.get(PROBLEM_JSON)
                if media is None or media.get("schema") != {"$ref": PROBLEM_REF}:
                    bad(method, path, f"{status} is not problem+json with the Problem component")
            if status == "429" and not entry["headers"].get("Retry-After", {}).get("required"):
                bad(method, path, "429 without a required Retry-After header")
            for name, link in entry.get("links", {}).items():
                if link["operationId"] not in op_ids:
                    bad(method, path, f"link {name} to an unknown operation")
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            if not _has_example(media, schemas):
                bad(method, path, f"request body {media_type} has no example")
    assert not problems, "incomplete operations:\n" + "\n".join(problems)


def test_resources_link_to_each_other(app_and_doc: tuple[Any, dict[str, Any]]) -> None:
    """The list responses link to their get-by-id operations (stateful tests follow them)."""
    doc = app_and_doc[1]
    links = doc["paths"]["/v1/residents"]["get"]["responses"]["200"]["links"]
    target = doc["paths"]["/v1/residents/{resident_id}"]["get"]["operationId"]
    assert links["GetResident"] == {
        "operationId": target,
        "parameters": {"resident_id": "$response.body#/items/0/id"},
        "description": "The first resident of the page.",
    }
