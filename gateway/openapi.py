"""OpenAPI declared where the routes are: problem responses from error classes, a route class, the app.

A route lists the error classes its own code raises; its dependencies declare theirs (`problems` on the
dependency: a bearer token, the policy, the accountability headers); `DocumentedRoute` merges both and
adds the response headers its dependencies declare. Links between operations are declared on the route
(`link`), examples on the models and the error classes. `GatewayAPI` adds the shared components.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from gateway.errors import PROBLEM_JSON, GatewayError, ValidationFailed
from gateway.examples import complete_examples
from gateway.lean import LeanPlan

PROBLEM_REF = "#/components/schemas/Problem"
OAUTH_ERROR_REF = "#/components/schemas/OAuthError"
PROBLEMS_ATTR = "problems"  # a dependency's error classes
POLICY_RESOURCE_ATTR = "policy_resource"  # the resource a policy dependency enforces
RESOURCE_KEY = "x-policy-resource"
HEADERS_ATTR = "response_headers"  # a dependency's response headers, documented on every response
# A dependency that only declares (headers, problems) for the document while a middleware does its work:
# it stays in the OpenAPI operation and is left out of the dependencies solved per request.
DOCS_ONLY_ATTR = "docs_only"
# FastAPI builds an included route's handler under this context (its effective dependant); private.
_ROUTE_CONTEXT = getattr(fastapi_routing, "_effective_route_context_var", None)


class Problem(BaseModel):
    """An RFC 9457 problem detail; problem types may add members (e.g. `errors`, `missing`)."""

    type: str = Field(
        description="Stable URI reference naming the problem type; GET it for its documentation.",
        examples=["/problems/not-found"],
    )
    title: str = Field(
        description="Short summary of the problem type (in Chinese under `Accept-Language: zh`).",
        examples=["Not found"],
    )
    status: int = Field(description="The HTTP status code.", examples=[404])
    detail: str = Field(description="Explanation of this occurrence.", examples=["no resident R7K3Q9M2X4T8"])
    instance: str | None = Field(default=None, description="The request path.")
    trace_id: str | None = Field(default=None, description="W3C trace id of the request, for operators.")


class OAuthError(BaseModel):
    """An OAuth 2.0 error response (RFC 6749 §5.2), as the token endpoints answer."""

    error: str = Field(description="Error code.", examples=["invalid_client"])
    error_description: str | None = Field(default=None, description="Human-readable explanation.")


def header(description: str, *, required: bool = False, pattern: str | None = None) -> dict[str, Any]:
    """Return an OpenAPI response header object of a string."""
    schema: dict[str, Any] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"description": description, "required": required, "schema": schema}


REQUEST_ID = {
    "X-Request-Id": header(
        "Id of this request (an incoming sane X-Request-Id, else the trace id).", required=True
    )
}
AUDIT_SEQ = {"X-Audit-Seq": header("Sequence number of the request's audit event.", pattern=r"^\d+$")}


def problem_responses(*classes: type[GatewayError]) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI `responses` of the given error classes: one per status, an example per class."""
    out: dict[int | str, dict[str, Any]] = {}
    for cls in dict.fromkeys(classes):  # once each, in order
        entry = out.setdefault(
            cls.status,
            {"description": "", "headers": {}, "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}},
        )
        summary = f"`{cls.slug}`: {' '.join((cls.__doc__ or cls.title).split())}"
        entry["description"] = f"{entry['description']}\n\n{summary}".strip()
        for name, (text, required) in cls.documented_headers.items():
            entry["headers"][name] = header(text, required=required, pattern=r"^\d+$" if required else None)
        examples = entry["content"][PROBLEM_JSON].setdefault("examples", {})
        examples[cls.slug] = {"summary": cls.title, "value": cls.example_body()}
    return out


def oauth_error(description: str, error: str) -> dict[str, Any]:
    """Return an OpenAPI response of an RFC 6749 §5.2 error (the OAuth endpoints' own format)."""
    example = {"error": error, "error_description": f"{error.replace('_', ' ')}."}
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": OAUTH_ERROR_REF}, "example": example}},
    }


def link(method: str, path: str, parameters: dict[str, str], description: str) -> dict[str, Any]:
    """Return an OpenAPI link (3.0 §4.7.20) to the operation at `method path` (stateful tests follow it)."""
    pointer = quote(path.replace("~", "~0").replace("/", "~1"), safe="~:")
    return {
        "operationRef": f"#/paths/{pointer}/{method}",
        "parameters": parameters,
        "description": description,
    }


def first_item(path: str, *, param: str, what: str, field: str = "id") -> dict[str, Any]:
    """Return the link from a page to the operation at `GET path` for its first item (list -> get)."""
    return link("get", path, {param: f"$response.body#/items/0/{field}"}, f"The first {what} of the page.")


def links(status: int, **named: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """Return a `responses` entry declaring the links of one answer (name -> `link(...)`)."""
    return {status: {"links": named}}


def combine(*parts: Mapping[int | str, Any]) -> dict[int | str, Any]:
    """Return `responses` parts merged: what one status documents adds up, the first part's wins."""
    out: dict[int | str, Any] = {}
    for part in parts:
        for status, entry in part.items():
            key = next((k for k in out if str(k) == str(status)), status)
            _merge(out.setdefault(key, {}), entry, top=True)
    return out


def _merge(have: dict[str, Any], more: Mapping[str, Any], *, top: bool = False) -> None:
    for key, value in more.items():
        if top and key == "description":  # a status's problem types each say what they mean
            if value and value not in have.get(key, ""):
                have[key] = f"{have.get(key, '')}\n\n{value}".strip()
        elif isinstance(value, Mapping) and isinstance(have.get(key), dict):
            _merge(have[key], value)
        else:
            have.setdefault(key, copy.deepcopy(value))


def _declared(dependant: Any, attr: str) -> Iterable[Any]:
    """Yield what the dependencies of a dependency tree declare under `attr`, outermost first."""
    for dep in dependant.dependencies:
        found = getattr(dep.call, attr, None)
        if found is not None:
            yield found
        yield from _declared(dep, attr)


def runtime_dependant(dependant: Any) -> Any:
    """Return the dependency tree without its docs-only dependencies (FastAPI solves each one per request)."""
    kept = [
        runtime_dependant(d) for d in dependant.dependencies if not getattr(d.call, DOCS_ONLY_ATTR, False)
    ]
    if len(kept) == len(dependant.dependencies) and all(
        a is b for a, b in zip(kept, dependant.dependencies, strict=True)
    ):
        return dependant
    return dataclasses.replace(dependant, dependencies=kept)


def _has_params(dependant: Any) -> bool:
    own = dependant.path_params or dependant.query_params or dependant.header_params
    return bool(own or dependant.body_params or any(_has_params(d) for d in dependant.dependencies))


class DocumentedRoute(APIRoute):
    """A route whose OpenAPI operation also shows what its dependencies declare (errors, headers)."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        """Build the route, then merge its dependencies' problems and headers into its responses."""
        super().__init__(path, endpoint, **kwargs)
        declared = tuple(cls for group in _declared(self.dependant, PROBLEMS_ATTR) for cls in group)
        if _has_params(self.dependant) and not ({422, "422"} & set(self.responses)):
            declared += (ValidationFailed,)  # FastAPI validates every parameter and body
        responses = combine(self.responses, problem_responses(*declared))
        headers = {**REQUEST_ID}
        for more in _declared(self.dependant, HEADERS_ATTR):
            headers.update(more)
        status = self.status_code or 200
        success = responses.get(status) or responses.get(str(status))
        if success is None:
            success = responses[status] = {}
        for entry in responses.values():
            entry["headers"] = {**headers, **entry.get("headers", {})}
        self.responses = responses
        self.openapi_extra = {"security": [], **(self.openapi_extra or {})}  # explicit when public
        resource = next(iter(_declared(self.dependant, POLICY_RESOURCE_ATTR)), None)
        if resource is not None:
            self.openapi_extra[RESOURCE_KEY] = resource  # which operations the policy governs

    def get_route_handler(self) -> Any:
        """Build the request handler from the dependencies that do work (docs-only ones left out)."""
        context = _ROUTE_CONTEXT.get() if _ROUTE_CONTEXT is not None else None
        route: Any = context if context is not None and context.original_route is self else self
        documented = route.dependant
        route.dependant = runtime = runtime_dependant(documented)
        try:
            handler = super().get_route_handler()
        finally:
            route.dependant = documented  # the OpenAPI document is built from the declared tree
        plan = LeanPlan.of(runtime, overrides=route.dependency_overrides_provider)
        return handler if plan is None else plan.wrap(handler)


class GatewayAPI(FastAPI):
    """The gateway's app class: its OpenAPI document holds the shared Problem and OAuthError components."""

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI document, built once, with the components every problem response names."""
        if self.openapi_schema is None:
            doc = super().openapi()
            components = doc.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for model in (Problem, OAuthError):
                schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.setdefault("securitySchemes", {})["clientBasic"] = {
                "type": "http",
                "scheme": "basic",
                "description": "OAuth client authentication (client_secret_basic, RFC 6749 §2.3.1); "
                "client_secret_post and private_key_jwt go in the form body instead.",
            }
            complete_examples(doc)
        return self.openapi_schema or {}
