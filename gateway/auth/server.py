"""The Authlib adapter: Authlib's AuthorizationServer driven by Starlette requests (written once, thin).

Authlib ships no Starlette server integration; this mirrors authlib.integrations.flask_oauth2: a request
wrapper exposing the form, a server subclass that builds responses, and the store-backed hooks.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Engine
from starlette.responses import Response

from gateway.auth import clients, revocation
from gateway.auth.clients import AuthMethod, ClientRecord, ClientStatus
from gateway.auth.guard import token_generation
from gateway.auth.keys import KeyRing
from gateway.auth.scopes import ALL_SCOPES, Scope, parse_scopes
from gateway.auth.tokens import TokenRejected, issue_access_token, verify_access_token
from gateway.settings import Settings

AUTH_METHODS = [m.value for m in AuthMethod]


class FormPayload(OAuth2Payload):
    """The x-www-form-urlencoded parameters of a token-endpoint request."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self._data = dict(form)

    @property
    def data(self) -> dict[str, str]:
        """Return the parameters."""
        return self._data

    @property
    def datalist(self) -> Any:
        """Return every parameter as a one-item list (duplicates are refused before this)."""
        return {k: [v] for k, v in self._data.items()}


class StarletteOAuth2Request(OAuth2Request):
    """An OAuth2Request built from a Starlette request's method, headers and parsed form."""

    def __init__(self, *, method: str, uri: str, headers: Mapping[str, str], form: Mapping[str, str]) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._form = dict(form)
        self.payload = FormPayload(self._form)

    @property
    def args(self) -> dict[str, str]:
        """Return query parameters (none are used by these endpoints)."""
        return {}

    @property
    def form(self) -> dict[str, str]:
        """Return the form parameters."""
        return self._form


MAX_FORM_BYTES = 16_384  # an assertion is ~1 KB; a bigger body is not a token request


def form_of(content_type: str | None, body: bytes) -> dict[str, str]:
    """Parse an x-www-form-urlencoded body (RFC 6749 §4.4.2); refuse repeats (RFC 6749 §3.2)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise InvalidRequestError(description="send parameters as application/x-www-form-urlencoded")
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequestError(description="the request body is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequestError(description="the form is not valid UTF-8 x-www-form-urlencoded") from exc
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out:
            # Not echoed: error_description allows printable ASCII only (RFC 6749 §5.2).
            raise InvalidRequestError(description="a parameter is repeated")
        out[key] = value
    return out


def check_basic_credentials(authorization: str | None) -> None:
    """Refuse Basic credentials that are not base64 of UTF-8 `id:secret` before Authlib decodes them."""
    if not authorization or authorization[:6].lower() != "basic ":
        return
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidClientError(description="malformed Basic credentials") from exc
    if ":" not in decoded:
        raise InvalidClientError(description="malformed Basic credentials")


class OAuthClient(ClientMixin):
    """A registry record seen through Authlib's client interface."""

    def __init__(self, record: ClientRecord) -> None:
        self.record = record

    def get_client_id(self) -> str:
        """Return the client id."""
        return self.record.client_id

    def get_default_redirect_uri(self) -> str | None:
        """Return None: the client-credentials grant has no redirect."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Return the requested scopes, or every granted one when none was requested (RFC 6749 §3.3)."""
        requested = parse_scopes(scope)
        return " ".join(requested or self.record.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Refuse every redirect: no redirect-based grant is enabled."""
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        """Verify the secret against its argon2 hash."""
        return clients.verify_secret(self.record, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Allow only the registered method, and only while the client is active."""
        return self.record.active and method == self.record.auth_method.value

    def check_response_type(self, response_type: str) -> bool:
        """Refuse every response type: there is no authorization endpoint."""
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        """Allow the client-credentials grant only (RFC 6749 §4.4)."""
        return grant_type == "client_credentials"


class AccessToken(TokenMixin):
    """A verified access token as the introspection and revocation endpoints see it."""

    def __init__(self, claims: dict[str, Any], *, revoked: bool) -> None:
        self.claims = claims
        self.revoked = revoked

    def check_client(self, client: ClientMixin) -> bool:
        """Tell whether `client` is the one the token was issued to (RFC 7009 §2.1)."""
        return bool(self.claims["client_id"] == client.get_client_id())

    def get_scope(self) -> str:
        """Return the token's scope string."""
        return str(self.claims.get("scope", ""))

    def get_expires_in(self) -> int:
        """Return the seconds the token was valid for."""
        return int(self.claims["exp"]) - int(self.claims["iat"])

    def is_expired(self) -> bool:
        """Tell whether exp has passed (the verifier already refused those)."""
        return int(self.claims["exp"]) < int(dt.datetime.now(dt.UTC).timestamp())

    def is_revoked(self) -> bool:
        """Tell whether the token, or its client, was revoked in the store."""
        return self.revoked


class ClientCredentials(ClientCredentialsGrant):
    """RFC 6749 §4.4 with our three client authentication methods and strict scope checks."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        """Refuse any requested scope the client was not granted (RFC 6749 §5.2 invalid_scope)."""
        requested = set(parse_scopes(self.request.payload.scope))
        client = self.request.client
        assert isinstance(client, OAuthClient)
        if excess := requested - set(client.record.scopes):
            raise InvalidScopeError(description=f"not granted to this client: {' '.join(sorted(excess))}")


class PrivateKeyJWT(JWTBearerClientAssertion):
    """private_key_jwt (RFC 7523 §2.2): the client signs an assertion with a key it registered."""

    CLIENT_AUTH_METHOD = AuthMethod.PRIVATE_KEY_JWT.value

    def __init__(self, *, engine: Engine, token_url: str, leeway: int, max_lifetime: int) -> None:
        super().__init__(validate_jti=True, leeway=leeway)
        self._engine = engine
        self._token_url = token_url
        self._max_lifetime = max_lifetime

    def __call__(self, query_client: Any, request: Any) -> Any:
        """Authenticate by assertion; anything malformed or mismatched is invalid_client, never a 500."""
        try:
            return super().__call__(query_client, request)
        except InvalidClientError:
            raise
        except (JoseError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidClientError(description="the client assertion is not valid") from exc

    def verify_claims(self, claims: Any) -> None:
        """Also demand iat and a short life: exp at most `max_lifetime` seconds after iat (RFC 7523 §3)."""
        iat, exp = claims.get("iat"), claims.get("exp")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp)):
            raise InvalidClientError(description="the client assertion needs numeric iat and exp")
        if exp - iat > self._max_lifetime:
            raise InvalidClientError(
                description=f"the client assertion may live at most {self._max_lifetime} seconds"
            )
        super().verify_claims(claims)
        # Federation members' keys come from their published JWKS within the pins (gateway/federation).
        self.member_keys: Callable[[str], KeySet | None] = lambda _client_id: None

    def get_audiences(self) -> list[str]:
        """Accept only our token endpoint URL as `aud` (RFC 7523 §3 item 3)."""
        return [self._token_url]

    def resolve_client_public_key(self, client: ClientMixin) -> KeySet:
        """Return the client's public JWKS (a federation member's: its pinned published keys); a client
        registered without one cannot use assertions."""
        assert isinstance(client, OAuthClient)
        pinned = self.member_keys(client.record.client_id)
        if pinned is not None:
            return pinned
        if client.record.auth_method is not AuthMethod.PRIVATE_KEY_JWT or not client.record.jwks:
            raise InvalidClientError(
                description="the client cannot authenticate with methods: private_key_jwt"
            )
        return KeySet.import_key_set(client.record.jwks)  # type: ignore[arg-type]

    def validate_jti(self, claims: Any, jti: str) -> bool:
        """Accept each assertion once: its jti is stored until its exp (RFC 7523 §3 item 7)."""
        expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
        return revocation.remember_assertion(
            self._engine, client_id=str(claims["sub"]), jti=str(jti)[:255], expires_at=expires
        )


class _TokenQueries:
    """query_token shared by introspection and revocation: verify our JWT, read revocation state."""

    server: GatewayAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        """Return the verified token, or None for anything we did not issue (RFC 7662 §2.2)."""
        srv = self.server
        try:
            claims = verify_access_token(token_string, srv.keyring(), settings=srv.settings)
        except TokenRejected:
            return None
        record = clients.get_client(srv.engine, str(claims["client_id"]))
        revoked = (
            record is None
            or not record.active
            or record.generation != token_generation(claims)
            or revocation.is_revoked(srv.engine, str(claims["jti"]))
        )
        return AccessToken(claims, revoked=revoked)


class Introspection(_TokenQueries, IntrospectionEndpoint):
    """RFC 7662: a client introspects its own tokens; a resource server holding tokens:introspect, any."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_permission(self, token: AccessToken, client: ClientMixin, request: OAuth2Request) -> bool:
        """Answer for the caller's own tokens, or any with tokens:introspect (else `active: false`)."""
        assert isinstance(client, OAuthClient)
        return token.check_client(client) or Scope.TOKENS_INTROSPECT.value in client.record.scopes

    def introspect_token(self, token: AccessToken) -> dict[str, Any]:
        """Return the RFC 7662 §2.2 members of an active token."""
        c = token.claims
        return {
            "active": True,
            "scope": c.get("scope", ""),
            "client_id": c["client_id"],
            "token_type": "Bearer",
            "exp": c["exp"],
            "iat": c["iat"],
            "sub": c["sub"],
            "aud": c["aud"],
            "iss": c["iss"],
            "jti": c["jti"],
        }


class Revocation(_TokenQueries, RevocationEndpoint):
    """RFC 7009: a client revokes its own access tokens; they stop working on every replica."""

    CLIENT_AUTH_METHODS = AUTH_METHODS
    SUPPORTED_TOKEN_TYPES = ("access_token",)

    def revoke_token(self, token: AccessToken, request: OAuth2Request) -> None:
        """Store the revocation; this replica refuses the token at once."""
        srv = self.server
        jti = str(token.claims["jti"])
        revocation.revoke(
            srv.engine,
            jti=jti,
            client_id=str(token.claims["client_id"]),
            expires_at=dt.datetime.fromtimestamp(int(token.claims["exp"]), dt.UTC),
        )
        srv.on_revoked(jti)


class GatewayAuthorizationServer(AuthorizationServer):
    """Authlib's server over the client registry (sync: its methods run in the thread pool)."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        keyring: Callable[[], KeyRing],
        on_revoked: Callable[[str], None],
    ) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.engine = engine
        self.settings = settings
        self.keyring = keyring
        self.on_revoked = on_revoked
        base = settings.public_url.rstrip("/")
        self.token_url = base + "/oauth/token"
        self.register_grant(ClientCredentials)
        self.private_key_jwt = PrivateKeyJWT(
            engine=engine,
            token_url=self.token_url,
            leeway=settings.token_clock_skew_seconds,
            max_lifetime=settings.assertion_max_lifetime_seconds,
        )
        self.register_client_auth_method(AuthMethod.PRIVATE_KEY_JWT.value, self.private_key_jwt)
        self.register_token_generator("default", self._generate)
        self.register_endpoint(Introspection)
        self.register_endpoint(Revocation)

    def query_client(self, client_id: str) -> OAuthClient:
        """Return the registered client, or a stand-in that never authenticates (same text, same work)."""
        record = clients.get_client(self.engine, client_id)
        return OAuthClient(record) if record else OAuthClient(_unknown(client_id))

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Keep nothing: access tokens are self-contained JWTs (RFC 9068)."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Ignore Authlib's signals (the audit writer records requests, not these)."""

    def validate_requested_scope(self, scope: str | None) -> None:
        """Refuse scopes this gateway does not define (RFC 6749 §3.3)."""
        if set(parse_scopes(scope)) - ALL_SCOPES:
            raise InvalidScopeError(description="unknown scope requested")

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        """Return the request: endpoints hand in a StarletteOAuth2Request already."""
        assert isinstance(request, StarletteOAuth2Request)
        return request

    def create_json_request(self, request: Any) -> Any:
        """JSON requests are not used by these grants."""
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        """Build the Starlette response: JSON bodies as RFC 6749 §5.1/§5.2 require."""
        content = orjson.dumps(body) if isinstance(body, dict | list) else str(body or "").encode()
        response = Response(content, status_code=status)
        for name, value in headers:
            response.headers[name] = value
        return response

    def _generate(
        self,
        grant_type: str,
        client: OAuthClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        scopes = client.get_allowed_scope(scope).split()
        return issue_access_token(
            self.keyring(),
            client_id=client.record.client_id,
            scopes=scopes,
            settings=self.settings,
            generation=client.record.generation,
        )


def _unknown(client_id: str) -> ClientRecord:
    """Return a disabled, secretless record standing in for a client id that is not registered."""
    return ClientRecord(
        client_id=client_id,
        name="",
        department="",
        subsystem="",
        region_code=None,
        scopes=(),
        auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        status=ClientStatus.DISABLED,
        created_at=dt.datetime.now(dt.UTC),
        rotated_at=None,
        jwks=None,
        secret_hash=None,
    )
