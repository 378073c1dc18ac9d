"""API8:2023 Security misconfiguration: cache and sniffing headers, opaque signed cursors, problem types."""

from __future__ import annotations

import base64
import json

from gateway.errors import GatewayError, problem_types
from gateway.pagination import encode_cursor
from tests.auth.helpers import register_staff
from tests.security.conftest import World

# Every route that takes a cursor, with the client that may call it (and its query name).
CURSOR_ROUTES = [
    ("/v1/residents?region=511599000000", "civil-affairs", "cursor"),
    ("/v1/regions", "civil-affairs", "cursor"),
    ("/v1/services", "civil-affairs", "cursor"),
    ("/v1/notices", "civil-affairs", "cursor"),
    ("/v1/changes", "civil-affairs", "since"),
    ("/v1/subscriptions", "civil-affairs", "cursor"),
    ("/v1/consents", "qingshan-agent", "cursor"),
    ("/v1/audit/events", "auditor", "cursor"),
    ("/v1/audit/checkpoints", "auditor", "cursor"),
]


def _forged(key: list[object]) -> str:
    """Return a cursor as today's main makes them: unsigned base64 JSON."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).rstrip(b"=").decode()


def _sep(path: str) -> str:
    return "&" if "?" in path else "?"


def test_every_api_answer_is_no_store_and_nosniff(world: World) -> None:
    """Personal data must not sit in shared caches nor be sniffed into HTML (also on errors)."""
    paths = [
        "/v1/residents?region=511599000000",
        "/v1/regions",
        "/healthz",
        "/v1/nowhere",
        "/oauth/introspect",
    ]
    for path in paths:
        for headers in (world.headers("civil-affairs"), {}):
            r = world.tc.get(path, headers=headers)
            assert r.headers.get("cache-control") == "no-store", (path, r.status_code)
            assert r.headers.get("x-content-type-options") == "nosniff", (path, r.status_code)


def test_public_keys_keep_their_cache_policy_and_nosniff(world: World) -> None:
    """The JWKS is public and cacheable by design; it is still never sniffed."""
    r = world.tc.get("/.well-known/jwks.json")
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("cache-control")


def test_token_answers_are_no_store_and_nosniff(world: World) -> None:
    """RFC 6749 §5.1 asks no-store of the token answer; nosniff holds there as everywhere."""
    r = world.tc.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("hr", "wrong"))
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("cache-control") == "no-store"


BAD_CURSORS = {
    "2^63": _forged([2**63]),
    "-2^70": _forged([-(2**70)]),
    "unsigned": _forged(["R1"]),
    "not-base64": "!!!",
    "garbage": "A" * 200,
    "arity": _forged([1, 2, 3]),
}


def test_malformed_or_forged_cursor_is_400_invalid_cursor(world: World) -> None:
    """No cursor the gateway did not sign reaches a query: 400 invalid-cursor on every route, never 500."""
    wrong = []
    for path, client, name in CURSOR_ROUTES:
        for label, cursor in BAD_CURSORS.items():
            r = world.tc.get(f"{path}{_sep(path)}{name}={cursor}", headers=world.headers(client))
            ok = r.status_code == 400 and r.json().get("type", "").endswith("/invalid-cursor")
            if not ok:
                wrong.append((path, label, r.status_code))
    assert not wrong


def test_tampered_cursor_is_refused_and_a_signed_one_works(world: World) -> None:
    """A cursor the gateway issued works; the same cursor with one byte changed does not."""
    h = world.headers("civil-affairs")
    r = world.tc.get("/v1/regions?limit=2", headers=h)
    nxt = r.json()["next"]
    assert nxt and world.tc.get(f"/v1/regions?limit=2&cursor={nxt}", headers=h).status_code == 200
    flipped = nxt[:-2] + ("A" if nxt[-2] != "A" else "B") + nxt[-1]
    r = world.tc.get(f"/v1/regions?limit=2&cursor={flipped}", headers=h)
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-cursor")
    assert encode_cursor(["511599000000"]) != _forged(["511599000000"])


def test_console_refuses_a_forged_cursor(world: World) -> None:
    """The auditor console pages with the same cursors: a forged one is 400, not a 500 page."""
    auditor = register_staff(world.engine, scopes=["audit:read"], department="audit")
    r = world.tc.post("/audit/login", data=auditor.form())
    assert r.status_code in (200, 303), r.text
    r = world.tc.get(f"/audit/?cursor={_forged([2**63])}")
    assert r.status_code == 400, r.text
    assert r.json()["type"].endswith("/invalid-cursor")


def test_openapi_documents_cursors_as_opaque(world: World) -> None:
    """Integrators are told not to build or parse cursors."""
    doc = world.tc.get("/openapi.json").json()
    params = [
        p
        for path, item in doc["paths"].items()
        for op in item.values()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
        if p.get("in") == "query" and (p["name"] == "cursor" or (path, p["name"]) == ("/v1/changes", "since"))
    ]
    assert len(params) >= 8
    for p in params:
        assert "opaque" in p["description"].lower() and "signed" in p["description"].lower(), p


def _all_subclasses(cls: type[GatewayError]) -> set[type[GatewayError]]:
    out = {cls}
    for sub in cls.__subclasses__():
        out |= _all_subclasses(sub)
    return out


def test_every_error_class_is_registered_by_being_defined(world: World) -> None:
    """Importing the app defines every error class; each one is in the registry without a list."""
    registered = {c.slug: c for c in problem_types()}
    for cls in _all_subclasses(GatewayError):
        assert issubclass(cls, registered[cls.slug]), cls  # its own type, or the parent whose slug it keeps


def test_every_problem_type_url_answers(world: World) -> None:
    """Every `type` URL a problem can carry dereferences to its description (RFC 9457 §3.1.1)."""
    assert len(problem_types()) >= 26
    for cls in problem_types():
        r = world.tc.get(cls.type_uri())
        assert r.status_code == 200, (cls.type_uri(), r.status_code)
        body = r.json()
        assert body["status"] == cls.status and body["title"] == cls.title


SQL = ["' OR '1'='1", "1; DROP TABLE resident; --", '" OR ""="', "%' --", "\\'; SELECT 1; --"]


def test_sql_metacharacters_in_every_parameter_are_inert(world: World) -> None:
    """Every query and path parameter is bound, never spliced: metacharacters give 4xx or no rows."""
    h = world.headers("civil-affairs")
    wrong = []
    for value in SQL:
        for path, params in (
            ("/v1/residents", {"region": value}),
            ("/v1/residents", {"household": value[:16]}),
            ("/v1/residents", {"status": value}),
            ("/v1/residents", {"tag": value}),
            ("/v1/residents", {"updated_since": value}),
            ("/v1/notices", {"for_resident": value[:16]}),
            (f"/v1/residents/{value}", {}),
            (f"/v1/households/{value}", {}),
        ):
            r = world.tc.get(path, params=params, headers=h)
            leaked = r.status_code == 200 and r.json().get("items")
            if r.status_code >= 500 or leaked:
                wrong.append((path, params, r.status_code))
        r = world.tc.post("/v1/residents:lookup", json={"national_id": value}, headers=h)
        if r.status_code != 422:
            wrong.append(("lookup", value, r.status_code))
    assert not wrong
    with world.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM resident").scalar_one() == 4


def test_the_console_escapes_what_callers_put_in_the_log(world: World) -> None:
    """A path holding a script is logged as sent and shown escaped in the auditor console (stored XSS)."""
    evil = "/v1/residents/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    world.tc.get(evil, headers=world.headers("civil-affairs"))
    world.tc.post(
        "/audit/login", data=register_staff(world.engine, scopes=["audit:read"], department="audit").form()
    )
    page = world.tc.get("/audit/")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
