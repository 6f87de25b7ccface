"""Who is asking: bearer tokens (or the sign-in cookie) checked against their digests, and the
client identity the query slots share by.

Every route but ``/healthz``, the login page and the static assets needs a token when
``sandbox.token_hashes`` is set.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from fastapi import Request

TOKEN_COOKIE = "catalog_synth_token"


class AuthRequired(Exception):
    """No valid token: API callers get 401, browsers are sent to /login."""

    def __init__(self, page: bool):
        self.page = page


class TokenAuth:
    """Bearer tokens checked against their SHA-256 digests (constant-time)."""

    def __init__(self, token_hashes: list[str]):
        self.digests = [digest.lower() for digest in token_hashes]

    @property
    def enabled(self) -> bool:
        return bool(self.digests)

    def accepts(self, token: str | None) -> bool:
        if not self.enabled:
            return True
        if not token:
            return False
        return any(hmac.compare_digest(_digest(token), known) for known in self.digests)

    def token_of(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        return request.cookies.get(TOKEN_COOKIE)

    def client_of(self, request: Request) -> str:
        """The client a request counts against: its token (by digest), or, when the sandbox has
        no tokens, its address (behind a proxy, uvicorn's ``FORWARDED_ALLOW_IPS`` makes it the
        client's own, from ``X-Forwarded-For``)."""
        if self.enabled:
            return token_client(self.token_of(request) or "")
        return "address:" + (request.client.host if request.client else "unknown")


def token_client(token: str) -> str:
    """The client a token's queries count against, wherever it arrives (HTTP or PostgreSQL)."""
    return "token:" + _digest(token)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_check(page: bool) -> Callable[[Request], Awaitable[None]]:
    """The auth dependency for API routes (401) or pages (redirect to /login).

    It is async on purpose: it never blocks, so it runs on the event loop instead
    of costing a hop to a worker thread on every request.
    """

    async def require_token(request: Request) -> None:
        auth: TokenAuth = request.app.state.auth
        if not auth.accepts(auth.token_of(request)):
            raise AuthRequired(page=page)

    return require_token


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
