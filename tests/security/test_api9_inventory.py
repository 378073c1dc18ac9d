"""API9:2023 Improper inventory management: every API route is documented, nothing undocumented answers."""

from __future__ import annotations

from starlette.routing import Route

from tests.security.conftest import World

# Routes that are pages or documents, not API operations (documented in the README instead).
NOT_API = ("/docs", "/redoc", "/openapi.json", "/problems/", "/audit/", "/dashboard/", "/static")


def test_every_api_route_is_in_the_openapi_document(world: World) -> None:
    """An operation missing from /openapi.json is one nobody reviews: there is none."""
    documented = {
        (path, method.upper())
        for path, item in world.tc.get("/openapi.json").json()["paths"].items()
        for method in item
    }
    served = set()
    for route in world.tc.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or route.path.startswith(NOT_API) or route.path == "/":
            continue
        path = route.path.replace(":segment}", "}")
        for method in route.methods or ():
            if method != "HEAD":
                served.add((path, method))
    assert served - documented == set()


def test_no_debug_or_legacy_paths_answer(world: World) -> None:
    """Typical leftovers answer 404 like any unknown path."""
    for path in (
        "/v0/residents",
        "/v2/residents",
        "/debug",
        "/admin",
        "/metrics",
        "/.env",
        "/v1/residents/../admin",
    ):
        assert world.tc.get(path, headers=world.headers("civil-affairs")).status_code == 404, path
