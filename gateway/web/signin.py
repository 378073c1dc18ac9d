"""Cookie sign-in of the HTML consoles, once: staff account, password and TOTP, locks, sessions, audit.

Both consoles (the village dashboard, the auditor console) describe themselves as a `Site` and get the
same sign-in and sign-out routes and the same page guard:

- sign-in takes a staff account (gateway/auth/staff.py), its password and a TOTP code; attempts are
  limited per address and per claimed account (gateway/policy/throttle.py), and 5 failures lock the
  account and the address for 15 minutes (gateway/auth/lockout.py);
- every outcome is one audit event of the sign-in request: `allow`, or `deny` with reason
  `signin-refused`, `signin-lockout` (this failure set a lock), `signin-locked` or `signin-throttled`;
- a page view resumes the session (15 idle minutes at most, gateway/web/sessions.py) and counts
  against the account's per-minute request limit like any authenticated request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidRequestError
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from gateway.auth import lockout, staff
from gateway.auth.clients import ClientRecord, verify_against
from gateway.auth.scopes import Scope
from gateway.auth.server import form_of
from gateway.auth.tokens import Principal
from gateway.context import RequestRecord, record_of_scope
from gateway.deps import get_engine, get_settings_dep
from gateway.errors import RateLimited
from gateway.policy.throttle import SignIn, charge_client
from gateway.web import sessions
from gateway.web.pages import Pages

TOO_MANY = "登录尝试过多,请稍后再试。"
LOCKED = "登录失败次数过多,该账号或本机地址已锁定 15 分钟,请稍后再试。"


@dataclass(frozen=True, slots=True)
class Site:
    """One HTML console: where it lives, its cookie, the scope a person needs and its sign-in page."""

    name: str  # "dashboard" or "console": the session's site and the limiter's form
    prefix: str  # "/dashboard": the cookie's path; the site's home is prefix + "/"
    cookie: str
    scopes: tuple[Scope, ...]  # a person needs one of them
    pages: Pages
    template: str  # the sign-in page
    refused: str  # why a sign-in failed, in Chinese (never which factor)

    def admits(self, scopes: Iterable[str]) -> bool:
        """Tell whether an account with `scopes` may use this site."""
        return any(s.value in scopes for s in self.scopes)

    def page(self, *, status: int = 200, **context: object) -> Response:
        """Render the sign-in page."""
        return self.pages.render(self.template, status=status, **context)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _note(record: RequestRecord, principal: Principal) -> None:
    record.client_id, record.department = principal.client_id, principal.department
    record.token_id = principal.token_id


async def current(request: Request, site: Site) -> Principal | Response:
    """Return the signed-in person of a page view, or the page to show instead (sign-in, or 429)."""
    engine = await get_engine(request)
    cookie = request.cookies.get(site.cookie)
    principal = await sessions.resume(engine, cookie, site=site.name, now=_now())
    if principal is None or not site.admits(principal.scopes):
        return site.page(expired=bool(cookie))
    _note(record_of_scope(request.scope), principal)
    try:
        await charge_client(request, client_id=principal.client_id, department=principal.department)
    except RateLimited as exc:
        page = site.page(status=429, error=TOO_MANY)
        page.headers.update(exc.headers)
        return page
    return principal


def _refuse(site: Site, record: RequestRecord, *, reason: str, status: int, error: str) -> Response:
    record.decision, record.reason = "deny", reason
    return site.page(status=status, error=error)


async def _check(
    request: Request, site: Site, *, account: str, password: str, code: str
) -> staff.StaffAccount | None:
    """Return the staff account when both factors match and it may use this site; None otherwise."""
    engine = await get_engine(request)
    found = await staff.load(engine, account)
    # The same argon2 work for unknown accounts: the answer's timing does not tell which exist.
    ok = await run_in_threadpool(verify_against, found.password_hash if found else None, password)
    if found is None or not ok or not found.client.active or not site.admits(found.client.scopes):
        return None
    step = staff.totp_step(found.totp_secret, code, now=_now(), after=found.totp_last_step)
    if step is None or not await staff.spend_step(engine, account, step):
        return None
    return found


async def sign_in(request: Request, site: Site) -> Response:
    """Sign a person in with account, password and TOTP code; keep the session in an HttpOnly cookie."""
    record = record_of_scope(request.scope)
    try:
        form = form_of(request.headers.get("content-type"), await request.body())
    except InvalidRequestError:  # not the form's encoding, repeated or oversized fields
        return _refuse(site, record, reason="signin-malformed", status=400, error="请使用登录表单提交。")
    account = form.get("username", "").strip()[:64]
    password, code = form.get("password", "")[:256], form.get("totp", "")[:16]
    record.client_id = account or None
    record.details = {
        "client_id_claimed": account or None,
        "client_id_authenticated": None,
        "site": site.name,
    }
    if not account or not password or not code:
        return _refuse(
            site, record, reason="signin-incomplete", status=400, error="请输入账号、密码和动态验证码。"
        )
    engine, address, now = await get_engine(request), _address(request), _now()
    keys = lockout.keys_of(account=account, address=address)
    refused = await _gate(request, site, record, keys=keys, account=account, now=now)
    if refused is not None:
        return refused
    found = await _check(request, site, account=account, password=password, code=code)
    if found is None:
        locked = await lockout.fail(engine, keys, now=now)
        if locked is not None:
            record.note(locked=list(locked.keys), locked_until=locked.until.isoformat())
        reason = "signin-refused" if locked is None else "signin-lockout"
        return _refuse(site, record, reason=reason, status=401, error=site.refused)
    await lockout.clear(engine, keys[0])
    return await _open(request, site, record, account=found.client, address=address, now=now)


async def _gate(
    request: Request,
    site: Site,
    record: RequestRecord,
    *,
    keys: tuple[str, str],
    account: str,
    now: dt.datetime,
) -> Response | None:
    """Refuse, unchecked, a sign-in whose account or address is locked or over its attempt limits."""
    held = await lockout.locked(await get_engine(request), keys, now=now)
    if held is not None:
        record.note(locked=list(held.keys), locked_until=held.until.isoformat())
        page = _refuse(site, record, reason="signin-locked", status=429, error=LOCKED)
        page.headers["Retry-After"] = str(held.retry_after(now))
        return page
    attempt = SignIn.of(request, form=site.name, client_id=account)
    try:
        if attempt is not None:
            await attempt.before()
    except RateLimited as exc:
        page = _refuse(site, record, reason="signin-throttled", status=429, error=TOO_MANY)
        page.headers.update(exc.headers)
        return page
    return None


async def _open(
    request: Request,
    site: Site,
    record: RequestRecord,
    *,
    account: ClientRecord,
    address: str,
    now: dt.datetime,
) -> Response:
    """Start the person's session, note it in the sign-in's audit event, and set the cookie."""
    engine = await get_engine(request)
    sid, cookie = await sessions.open_session(
        engine, account=account, site=site.name, address=address, now=now
    )
    record.client_id, record.department, record.token_id = account.client_id, account.department, sid
    record.note(client_id_authenticated=account.client_id, factors=["password", "totp"])
    response = RedirectResponse(site.prefix + "/", status_code=303)
    settings = await get_settings_dep(request)
    response.set_cookie(
        site.cookie,
        cookie,
        max_age=int(sessions.LIFETIME.total_seconds()),
        path=site.prefix,
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
    )
    return response


async def sign_out(request: Request, site: Site) -> Response:
    """End the session and forget the cookie."""
    engine = await get_engine(request)
    closed = await sessions.close(engine, request.cookies.get(site.cookie))
    if closed is not None:
        record = record_of_scope(request.scope)
        record.token_id, record.client_id = closed
    response = RedirectResponse(site.prefix + "/", status_code=303)
    response.delete_cookie(site.cookie, path=site.prefix, httponly=True, samesite="strict")
    return response


def add_sign_in_routes(router: APIRouter, site: Site, *, sign_in_path: str, sign_out_path: str) -> None:
    """Add the site's sign-in (POST) and sign-out (POST) routes to its router."""

    async def post_sign_in(request: Request) -> Response:
        """Sign in with a staff account, its password and a TOTP code."""
        return await sign_in(request, site)

    async def post_sign_out(request: Request) -> Response:
        """Sign out."""
        return await sign_out(request, site)

    router.add_api_route(sign_in_path, post_sign_in, methods=["POST"])
    router.add_api_route(sign_out_path, post_sign_out, methods=["POST"])
