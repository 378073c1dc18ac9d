"""Admin API of the client registry, under scope admin:clients (sync routes: argon2 and the registry
use the sync engine, so they run in the thread pool, never on the event loop)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth import clients
from gateway.auth.clients import AuthMethod, ClientStatus, RegistryError
from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.runtime import AuthState
from gateway.auth.scopes import ADMINISTERS, Scope, role_of
from gateway.context import record_of_scope
from gateway.errors import BadRequest, Forbidden, NotFound, ValidationFailed
from gateway.openapi import link, links, problem_responses
from gateway.routing import api_router, operation
from gateway.runtime import runtime_of

router = api_router(
    prefix="/v1/admin/clients",
    tags=["admin"],
    dependencies=[require_scope(Scope.ADMIN_CLIENTS)],
    responses=problem_responses(Forbidden),
)

ClientId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class ClientCreate(BaseModel):
    """A client registration request."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    department: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    subsystem: str = Field(min_length=1, max_length=64)
    scopes: list[Scope] = Field(min_length=1)
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC
    region_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    jwks: dict[str, Any] | None = Field(default=None, description="Public JWKS, for private_key_jwt.")


def _engine(request: Request) -> Any:
    auth: AuthState = runtime_of(request).auth
    return auth.engine


def _found(request: Request, client_id: str) -> clients.ClientRecord:
    record_of_scope(request.scope).note(target_client=client_id)  # the event names whom it acted on
    record = clients.get_client(_engine(request), client_id)
    if record is None:
        raise NotFound(f"no client {client_id}")
    return record


@router.get("", **operation("List clients"))
def list_clients(request: Request) -> list[dict[str, Any]]:
    """List every registered client (never a secret)."""
    return [c.public_view() for c in clients.list_clients(_engine(request))]


@router.post(
    "",
    **operation(
        "Register a client",
        BadRequest,
        Forbidden,
        ValidationFailed,
        responses=links(
            201,
            ShowClient=link(
                "get",
                "/v1/admin/clients/{client_id}",
                {"client_id": "$response.body#/client_id"},
                "The client just registered.",
            ),
            DisableClient=link(
                "post",
                "/v1/admin/clients/{client_id}:disable",
                {"client_id": "$response.body#/client_id"},
                "Disable it.",
            ),
            RotateSecret=link(
                "post",
                "/v1/admin/clients/{client_id}:rotate-secret",
                {"client_id": "$response.body#/client_id"},
                "Rotate its secret.",
            ),
        ),
        status_code=201,
    ),
)
def create_client(request: Request, body: ClientCreate, principal: PrincipalDep) -> dict[str, Any]:
    """Register a department system (resource access); the response holds its secret, shown this once."""
    allowed = ADMINISTERS.get(role_of(Scope.ADMIN_CLIENTS), frozenset())
    if foreign := sorted({role_of(s).value for s in body.scopes} - {r.value for r in allowed}):
        raise Forbidden(
            f"client {principal.client_id} may register {', '.join(sorted(r.value for r in allowed))} "
            f"clients only, not {', '.join(foreign)}: an operator registers those with "
            "`gateway clients create` (recorded in the audit log)"
        )
    try:
        record, secret = clients.create_client(
            _engine(request),
            name=body.name,
            department=body.department,
            subsystem=body.subsystem,
            scopes=[s.value for s in body.scopes],
            auth_method=body.auth_method,
            region_code=body.region_code,
            jwks=body.jwks,
        )
    except RegistryError as exc:
        raise BadRequest(str(exc)) from exc
    record_of_scope(request.scope).note(target_client=record.client_id, scopes=list(record.scopes))
    return {**record.public_view(), "client_secret": secret}


@router.get("/{client_id:segment}", **operation("Show a client", NotFound))
def show_client(request: Request, client_id: ClientId) -> dict[str, Any]:
    """Return one client."""
    return _found(request, client_id).public_view()


@router.post("/{client_id}:disable", **operation("Disable a client", NotFound))
def disable_client(request: Request, client_id: ClientId) -> dict[str, Any]:
    """Disable a client: its tokens stop working on every replica (see docs/keys.md for the bound)."""
    _found(request, client_id)
    return clients.set_status(_engine(request), client_id, status=ClientStatus.DISABLED).public_view()


@router.post("/{client_id}:enable", **operation("Enable a client", NotFound))
def enable_client(request: Request, client_id: ClientId) -> dict[str, Any]:
    """Enable a disabled client again."""
    _found(request, client_id)
    return clients.set_status(_engine(request), client_id, status=ClientStatus.ACTIVE).public_view()


@router.post("/{client_id}:rotate-secret", **operation("Rotate a client's secret", BadRequest, NotFound))
def rotate_secret(request: Request, client_id: ClientId) -> dict[str, Any]:
    """Replace the client's secret; the response holds the new one, shown this once."""
    _found(request, client_id)
    try:
        record, secret = clients.rotate_secret(_engine(request), client_id)
    except RegistryError as exc:
        raise BadRequest(str(exc)) from exc
    return {**record.public_view(), "client_secret": secret}
