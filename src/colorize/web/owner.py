"""Who owns what, without accounts: a random owner token per browser, in an HttpOnly cookie.

Each browser gets a 256-bit token on its first request. The database stores only its SHA-256 (`owner_of`), so
rows can be matched to a browser but a leaked database cannot be used to act as one. The cookie is HttpOnly (page
scripts cannot read it) and SameSite=Lax (other sites cannot make the browser send it with their POSTs).

CSRF: a state-changing request (POST, DELETE, ...) that carries an owner cookie must also carry the header
`X-CSRF-Token` equal to the `colorize_csrf` cookie (double-submit). Another site can make a browser send cookies
but can neither read the CSRF cookie nor set a custom header without a CORS preflight, which this app never
allows. A request with no owner cookie has nothing to forge: it is served as a new owner.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from http.cookies import SimpleCookie

from colorize.web.limits import drain, send_json_error

OWNER_COOKIE = "colorize_owner"
CSRF_COOKIE = "colorize_csrf"
CSRF_HEADER = b"x-csrf-token"
_TOKEN = re.compile(r"^[0-9a-f]{64}$")
#: A year: the owner keeps their history as long as the browser keeps the cookie (and retention allows).
COOKIE_MAX_AGE = 365 * 24 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def new_token() -> str:
    return secrets.token_hex(32)


def owner_of(token: str) -> str:
    """What the database stores for a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_cookies(scope) -> dict[str, str]:
    jar = SimpleCookie()
    for name, value in scope.get("headers") or []:
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is treated as no cookies
                continue
    return {key: morsel.value for key, morsel in jar.items()}


def set_cookie_header(name: str, value: str, http_only: bool, secure: bool) -> tuple[bytes, bytes]:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={COOKIE_MAX_AGE}", "SameSite=Lax"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return b"set-cookie", "; ".join(parts).encode()


class OwnerMiddleware:
    """Puts `owner` (hash) and `csrf_token` into `request.state`; issues cookies; refuses forged requests (403)."""

    def __init__(self, app, drain_bytes: int = 1024 * 1024, body_timeout: float = 30.0):
        self.app = app
        self.drain_bytes = drain_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cookies = request_cookies(scope)
        token = cookies.get(OWNER_COOKIE, "")
        csrf = cookies.get(CSRF_COOKIE, "")
        issued: list[tuple[bytes, bytes]] = []
        if _TOKEN.match(token) and _TOKEN.match(csrf):
            if scope["method"] not in SAFE_METHODS:
                sent = dict(scope.get("headers") or []).get(CSRF_HEADER, b"").decode("latin-1")
                if not secrets.compare_digest(sent, csrf):
                    await drain(receive, self.drain_bytes, self.body_timeout)
                    return await send_json_error(send, 403, "missing or wrong X-CSRF-Token header; reload the page "
                                                            "(API clients: send the colorize_csrf cookie's value)")
        else:
            token, csrf = new_token(), new_token()
            secure = scope.get("scheme") == "https"
            issued = [set_cookie_header(OWNER_COOKIE, token, True, secure),
                      set_cookie_header(CSRF_COOKIE, csrf, False, secure)]
        state = scope.setdefault("state", {})
        state["owner"] = owner_of(token)
        state["csrf_token"] = csrf

        async def send_with_cookies(message):
            if message["type"] == "http.response.start" and issued:
                message = {**message, "headers": [*message.get("headers", []), *issued]}
            await send(message)

        await self.app(scope, receive, send_with_cookies)


