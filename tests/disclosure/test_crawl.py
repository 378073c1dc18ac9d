"""Crawl every readable operation of the OpenAPI document as every demo client for every purpose.

Nothing here lists endpoints or parameters: operations, parameters and their values come from the
OpenAPI document, what each client may see comes from the shipped policy. For every response:
no canary value the client may not see appears, no resident-shaped object carries a field the
policy hides from it, and a parameter naming a field the client may not see is refused (403
`filter-not-allowed`) instead of answered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from gateway.demo.county import SHIFAN
from policies.decision import Decision
from tests.disclosure.conftest import TEXT_FIELDS, VILLAGES, World, hidden_or_masked_somewhere

FILTER_REFUSED = "/problems/filter-not-allowed"
# The contract (docs/integrating.md): an operation governed by the policy says which resource in
# `x-policy-resource`; each of its query parameters names the field it discloses in `x-field` (its
# schema), `@resource` when it targets a record of another resource, `resource.field` when it reads a
# field of a related record (an enrolment's resident's region); pagination names none.
RESOURCE_KEY, FIELD_KEY = "x-policy-resource", "x-field"
META_PARAMS = frozenset({"limit", "cursor", "since"})  # pages and feed positions name no field
SAMPLE_TIME = "2026-01-01T00:00:00Z"
AUDIT_LOG = "/v1/audit/"


@dataclass(frozen=True)
class Call:
    """One request of the crawl."""

    method: str
    path: str
    template: str
    params: dict[str, str]
    body: dict[str, Any] | None
    resource: str | None  # the policy resource the operation is governed by
    field: str | None  # the field the one varied parameter names (x-field), if any
    value: str | None


def _readable(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in openapi["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            # Reads: every GET, and the custom read methods (`:lookup`) that carry their key in a body.
            if method == "get" or (method == "post" and path.endswith(":lookup")):
                yield method, path, op


def _schema(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _schema(openapi, openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, ()):
            if option.get("type") != "null":
                merged = dict(_schema(openapi, option))
                merged.update({k: v for k, v in schema.items() if k not in (key,)})
                return merged
    return schema


def _values(world: World, name: str, schema: dict[str, Any]) -> list[str]:
    """Return the values to try for a parameter, from its schema and the planted world."""
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    pattern = schema.get("pattern", "")
    if "resident" in name:
        return [*world.residents, "RNOSUCH00000"]
    if "household" in name:
        return [*world.households, "HNOSUCH"]
    if pattern.startswith("^\\d{12}") or name == "region":
        return ["511599000000", "511599100000", "511599200000", *VILLAGES]
    if schema.get("format") == "date-time":
        return [SAMPLE_TIME]
    if schema.get("format") == "date":
        return ["2026-01-01"]
    if schema.get("type") == "boolean":
        return ["true", "false"]
    if schema.get("type") == "integer":
        return [str(schema.get("default", schema.get("minimum", 1)))]
    return [str(schema.get("default") or schema.get("examples", ["x1"])[0])]


def _path_fills(world: World, openapi: dict[str, Any], op: dict[str, Any], path: str) -> Iterator[str]:
    params = [p for p in op.get("parameters", []) if p["in"] == "path"]
    if not params:
        yield path
        return
    p = params[0]
    for value in _values(world, p["name"], _schema(openapi, p.get("schema", {}))):
        filled = path.replace("{" + p["name"] + "}", value)
        yield from _path_fills(world, openapi, {"parameters": params[1:]}, filled)


def calls(world: World) -> Iterator[Call]:
    """Yield every request of the crawl: each operation bare, then each query parameter with each value."""
    openapi = world.tc.app.openapi()  # type: ignore[attr-defined]
    for method, template, op in _readable(openapi):
        resource = op.get(RESOURCE_KEY)
        for path in _path_fills(world, openapi, op, template):
            if method == "post":
                for rid, doc in world.residents.items():
                    yield Call(
                        method,
                        path,
                        template,
                        {},
                        {"national_id": doc["national_id"]},
                        resource,
                        "national_id",
                        rid,
                    )
                continue
            yield Call(method, path, template, {}, None, resource, None, None)
            for p in op.get("parameters", []):
                if p["in"] != "query" or p["name"] in META_PARAMS:
                    continue
                schema = _schema(openapi, p.get("schema", {}))
                if resource is not None:
                    assert FIELD_KEY in schema, (
                        f"{method.upper()} {template}: parameter {p['name']} names no field (x-field); "
                        "every parameter of a policy-governed operation must say which field it discloses"
                    )
                for value in _values(world, p["name"], schema):
                    yield Call(
                        method,
                        path,
                        template,
                        {p["name"]: value},
                        None,
                        resource,
                        schema.get(FIELD_KEY),
                        value,
                    )


def _resident_objects(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        rid = value.get("id") if isinstance(value.get("id"), str) else None
        if rid and rid.startswith("RCANARY"):
            yield rid, value
        for v in value.values():
            yield from _resident_objects(v)
    elif isinstance(value, list):
        for v in value:
            yield from _resident_objects(v)


def _documents(body: bytes) -> list[Any]:
    """Return the JSON documents of an answer (one document, or NDJSON lines; none for other media)."""
    docs = []
    for line in body.splitlines() if body[:1] in (b"{", b"[") else ():
        try:
            docs.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            return [orjson.loads(body)]  # one pretty-printed document over several lines
    return docs


def _filter_allowed(decision: Decision, field: str, value: str | None) -> bool:
    """Tell whether the policy shows `field` in clear on every row the client reaches (the oracle)."""
    if not decision.allowed:
        return True  # refused anyway, by the decision itself
    if (
        field == decision.info.tags_field
        and decision.scopes
        and value
        and all(  # type: ignore[union-attr]
            value in s.tags for s in decision.scopes
        )
    ):
        return True  # every row reached carries the tag already: filtering on it tells nothing
    return all(field in plan.clear for plan in decision.plans)


class Oracle:
    """What the shipped policy lets one client see for one purpose."""

    def __init__(self, world: World, client: str, purpose: str | None) -> None:
        self.world, self.client, self.purpose = world, client, purpose
        self.residents = world.decide(client, "residents", purpose)
        self.scopes = set(world.clients[client][2])
        hidden = hidden_or_masked_somewhere(world.engine, world.clients, "residents")
        # Every field the policy hides or masks from someone holds a canary or is checked by shape.
        self.forbidden: set[str] = set()
        allowed: set[str] = set()
        self.hidden_keys: dict[str, set[str]] = {}
        for rid, doc in world.residents.items():
            plan = self.residents.row_plan(doc) if self.residents.allowed else None
            shown_clear = plan.clear if plan is not None else frozenset()
            for f in TEXT_FIELDS:
                if f in hidden and doc.get(f):
                    (allowed if f in shown_clear else self.forbidden).add(str(doc[f]))
            visible = set(shown_clear) | ({n for n, _ in plan.masked} if plan else set())
            self.hidden_keys[rid] = {f for f in doc if f not in visible}
            if plan is None:
                self.hidden_keys[rid] = set(doc) - {"id"}
        # A value shared by two residents (their household) is no canary of the one the client sees.
        self.forbidden -= allowed

    def check(self, call: Call, status: int, body: bytes) -> list[str]:
        """Return what is wrong with one answer."""
        problems = []
        text = body.decode("utf-8", "replace")
        asked = f"{call.path} {call.params} {call.body}"
        forbidden = self.forbidden
        if call.path.startswith(AUDIT_LOG):
            # The log names the records each answer disclosed (a household is one): ids, never values.
            forbidden = forbidden - set(self.world.households)
        leaked = sorted(v for v in forbidden if v in text and v not in asked)
        if leaked:
            problems.append(f"canaries {leaked} in the answer")
        docs = _documents(body)
        for rid, obj in _resident_objects(docs):
            if True:
                extra = sorted(k for k in obj if k in self.hidden_keys[rid] and k != "id")
                # A change names the fields that changed: a hidden field's name tells that it changed.
                named = obj.get("fields") if obj.get("resource") == "resident" else None
                extra += sorted(f"fields:{n}" for n in named or () if n in self.hidden_keys[rid])
                if extra:
                    problems.append(f"resident {rid} carries hidden fields {extra}")
        if call.field is not None and status < 400:
            problems += self._check_filter(call)
        if call.params and call.resource is None and status < 400 and any(_resident_objects(docs)):
            # Records the policy governs, narrowed by a parameter nobody checked against the policy.
            problems.append(f"filters residents by {sorted(call.params)} without declaring x-policy-resource")
        return problems

    def _check_filter(self, call: Call) -> list[str]:
        assert call.field is not None
        if call.field.startswith("@"):
            # Targeting a record of another resource is a read of it: that resource's policy decides.
            target = self.world.decide(self.client, call.field[1:], self.purpose)
            doc = self.world.residents.get(call.value or "")
            if not target.allowed or doc is None or target.row_plan(doc) is None:
                return [f"targeting {call.value} answered without the right to read it"]
            return []
        if call.resource is None:
            return []
        decision = self.world.decide(self.client, call.resource, self.purpose)
        related, dot, name = call.field.partition(".")
        if dot:
            # A field of a related record (an enrolment's resident's region): that resource must show it.
            if not decision.allowed:
                return []
            shown = self.world.decide(self.client, related, self.purpose)
            if not shown.allowed or not _filter_allowed(shown, name, call.value):
                return [f"filter on {related}'s hidden {name}={call.value} answered"]
            return []
        if call.method == "post":  # an exact lookup: the field must be granted (in clear or masked)
            granted = set(decision.fields_disclosed) | set(decision.fields_masked)
            return [] if call.field in granted or not decision.allowed else [f"lookup by hidden {call.field}"]
        if not _filter_allowed(decision, call.field, call.value):
            return [f"filter on hidden {call.field}={call.value} answered"]
        return []


DEMO_IDS = [c.client_id for c in SHIFAN.clients]


def distinct_purposes(world: World, client: str) -> list[str | None]:
    """Return one purpose per distinct set of decisions: answers depend on the purpose only through them."""
    seen: dict[tuple[Any, ...], str | None] = {}
    for purpose in world.purposes_of(client):
        signature = []
        for resource in sorted(world.engine.policy.resources):
            d = world.decide(client, resource, purpose)
            plans = tuple((p.clear, tuple(n for n, _ in p.masked)) for p in d.plans)
            signature.append((d.allowed, d.scopes, plans))
        seen.setdefault(tuple(signature), purpose)
    return list(seen.values())


@pytest.mark.parametrize("client", DEMO_IDS)
def test_crawl_discloses_nothing_the_policy_hides(world: World, client: str) -> None:
    every = list(calls(world))
    assert len({c.template for c in every}) > 10  # the crawl really walks the document
    failures: list[str] = []
    for purpose in distinct_purposes(world, client):
        oracle = Oracle(world, client, purpose)
        headers = world.headers(client, purpose)
        for call in every:
            if call.method == "post":
                r = world.tc.post(call.path, json=call.body, headers=headers)
            else:
                r = world.tc.get(call.path, params=call.params, headers=headers)
            assert r.status_code < 500, f"{call.path} {call.params}: {r.status_code} {r.text[:300]}"
            for problem in oracle.check(call, r.status_code, r.content):
                failures.append(
                    f"{client} / {purpose}: {call.method.upper()} {call.path} {call.params}: {problem}"
                )
            if call.field and r.status_code == 403 and r.json().get("type") == FILTER_REFUSED:
                assert r.json().get("parameter") in (*call.params, "national_id"), r.text
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} in all)"


def test_every_field_hidden_somewhere_is_planted(world: World) -> None:
    """The canaries cover the policy: each hidden or masked field is planted (text) or checked by shape."""
    hidden = hidden_or_masked_somewhere(world.engine, world.clients, "residents")
    assert hidden, "the shipped policy hides nothing: the suite would test nothing"
    for doc in world.residents.values():
        missing = sorted(
            f for f in hidden if doc.get(f) in (None, [], False) and f not in {"needs_review", "provenance"}
        )
        assert not missing, f"no canary in {missing}"
    assert re.fullmatch(r"\d{17}[\dX]", next(iter(world.residents.values()))["national_id"])
