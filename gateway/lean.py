"""Lean dependency solving for routes answering a Response: FastAPI's work, without its per-request machinery.

A py-spy profile of `GET /v1/residents/{id}` put a sixth of the CPU in FastAPI's solver deciding again,
per request and per dependency, what it could have decided once (parameter models, aliases, cache
keys, scopes). `LeanPlan` decides it once per route: for a dependency tree whose every node is an
async callable taking single-valued path, query and header parameters, the Request and security
scopes, it keeps the nodes in FastAPI's order with their pydantic fields. A request then has its
every parameter validated first, by the same fields, without side effects; when all are valid, the
dependencies run in FastAPI's order, each once per request as FastAPI caches them, and so does the
endpoint. Any other request (a parameter that fails validation, dependency overrides in force) goes
to FastAPI's own handler, which answers it exactly as before: errors are never built here.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from fastapi.dependencies import models as fastapi_models
from fastapi.dependencies import utils as fastapi_utils
from fastapi.security import SecurityScopes
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]
_SOURCES = ("path", "query", "header")


class _Unsupported(Exception):
    """The tree has a node the lean plan does not handle: the route keeps FastAPI's handler only."""


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    source: str  # path | query | header
    alias: str
    field: Any  # fastapi._compat.ModelField
    loc: tuple[str, str]


@dataclass(slots=True)
class _Node:
    call: Callable[..., Awaitable[Any]]
    name: str | None
    cache_key: Any
    use_cache: bool
    params: list[_Param]
    subs: list[_Node] = field(default_factory=list)
    request_names: tuple[str, ...] = ()
    scopes_name: str | None = None
    scopes: list[str] = field(default_factory=list)


def _is_async(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004


def _param(source: str, f: Any) -> _Param:
    if (
        fastapi_utils._get_param_model(f) is not None
        or fastapi_utils._is_json_field(f)
        or fastapi_utils.field_annotation_is_sequence(f.field_info.annotation)
    ):
        raise _Unsupported(f"parameter {f.name}")
    aliases = fastapi_utils._get_param_aliases(f)
    if len(aliases) != 1:
        raise _Unsupported(f"parameter {f.name} has alias choices")
    alias = aliases[0][1]
    return _Param(f.name, source, alias, f, (f.field_info.in_.value, alias))


def _node(dep: Any) -> _Node:
    call = dep.call
    if (
        dep.body_params
        or dep.cookie_params
        or dep.websocket_param_name
        or dep.background_tasks_param_name
        or dep.response_param_name
        or dep.concurrency is not None
        or not _is_async(call)
        or fastapi_models._is_gen_callable(call)
        or fastapi_models._is_async_gen_callable(call)
    ):
        raise _Unsupported(f"dependency {getattr(call, '__name__', call)!r}")
    params = [_param(src, f) for src in _SOURCES for f in getattr(dep, f"{src}_params")]
    names = tuple(n for n in (dep.request_param_name, dep.http_connection_param_name) if n)
    return _Node(
        call=call,
        name=dep.name,
        cache_key=fastapi_models._get_cache_key(dependant=dep),
        use_cache=dep.use_cache,
        params=params,
        subs=[_node(sub) for sub in dep.dependencies],
        request_names=names,
        scopes_name=dep.security_scopes_param_name,
        scopes=fastapi_models._get_oauth_scopes(dependant=dep),
    )


def _answers_response(call: Any) -> bool:
    hint = inspect.signature(call).return_annotation
    return hint is Response or hint == "Response"


class _Invalid(Exception):
    """A parameter does not validate: FastAPI's handler answers (and words the 422)."""


class LeanPlan:
    """The dependency tree of one route, solved without FastAPI's per-request machinery."""

    def __init__(self, root: _Node, *, overrides: Any) -> None:
        self._root = root
        self._overrides = overrides

    @classmethod
    def of(cls, dependant: Any, *, overrides: Any = None) -> LeanPlan | None:
        """Return the plan of a route's dependency tree, or None when FastAPI must solve it."""
        if dependant.call is None or not _answers_response(dependant.call):
            return None
        try:
            return cls(_node(dependant), overrides=overrides)
        except _Unsupported:
            return None
        except (AttributeError, TypeError):
            # The plan reads FastAPI internals (pinned in constraints.txt); a release that moved them
            # costs the speed-up, never the route: FastAPI's own handler answers.
            log.warning("lean dependency plan unavailable for %s; FastAPI solves it", dependant.call)
            return None

    def wrap(self, fallback: Handler) -> Handler:
        """Return a handler solving by the plan, and by `fallback` when it cannot."""

        async def handle(request: Request) -> Response:
            if self._overrides is not None and getattr(self._overrides, "dependency_overrides", None):
                return await fallback(request)
            try:
                values = _validated(self._root, request)
            except _Invalid:
                return await fallback(request)
            response = await _run(self._root, request, values, {})
            if not isinstance(response, Response):
                raise TypeError(f"{self._root.call.__name__} must answer a Response")
            return response

        return handle


def _validated(root: _Node, request: Request) -> dict[int, dict[str, Any]]:
    """Return every node's parameter values, validated; raise _Invalid at the first that fails."""
    out: dict[int, dict[str, Any]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.subs)
        if id(node) in out:
            continue
        values: dict[str, Any] = {}
        for p in node.params:
            source: Any = (
                request.path_params
                if p.source == "path"
                else request.query_params
                if p.source == "query"
                else request.headers
            )
            raw = source.get(p.alias)
            if raw is None:
                if p.field.field_info.is_required():
                    raise _Invalid(p.name)
                raw = deepcopy(p.field.default)
                if not p.field.field_info.validate_default:
                    values[p.name] = raw
                    continue
            value, errors = p.field.validate(raw, values, loc=p.loc)
            if errors:
                raise _Invalid(p.name)
            values[p.name] = value
        out[id(node)] = values
    return out


async def _run(
    node: _Node, request: Request, values: dict[int, dict[str, Any]], cache: dict[Any, Any]
) -> Any:
    """Call a node with its dependencies solved."""
    return await node.call(**await _solve(node, request, values, cache))


async def _solve(
    node: _Node, request: Request, values: dict[int, dict[str, Any]], cache: dict[Any, Any]
) -> dict[str, Any]:
    """Return a node's arguments, its dependencies solved as FastAPI solves them (each once per request)."""
    kwargs = dict(values[id(node)])
    for sub in node.subs:
        sub_kwargs = await _solve(sub, request, values, cache)  # FastAPI solves these before its cache
        if sub.use_cache and sub.cache_key in cache:
            solved = cache[sub.cache_key]
        else:
            solved = await sub.call(**sub_kwargs)
            cache.setdefault(sub.cache_key, solved)
        if sub.name is not None:
            kwargs[sub.name] = solved
    for name in node.request_names:
        kwargs[name] = request
    if node.scopes_name is not None:
        kwargs[node.scopes_name] = SecurityScopes(scopes=list(node.scopes))
    return kwargs
