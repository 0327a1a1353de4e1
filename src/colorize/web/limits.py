"""Guard the app's door: body size caps, a body-read timeout, a cap on concurrent uploads, per-client rate limits
and the full-queue refusal, all answered as complete HTTP responses.

This runs before FastAPI parses a body: a Content-Length over the limit is refused before the app sees it, and a
body without one (chunked) is counted as it arrives and cut off as soon as it passes the limit, so a 2 GB upload
costs at most the limit in memory and temporary disk. Every other request body (ratings, comparisons, votes:
small JSON) gets a small cap of its own.

Refusing early has a trap: a server that answers and closes while the client is still sending makes the kernel
reset the connection, and the client sees a reset instead of the 413/429/503. So every early answer first drains
(reads and discards) up to `drain_bytes` of the body, within the body timeout, and then answers with
`Connection: close`. Beyond that bound the connection is closed anyway: the bound keeps a hostile client from
making the server read forever.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Callable

from colorize.web.ratelimit import RateLimiter

#: Room for the multipart boundary lines and headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
#: Cap on the body of every request that is not a photo upload: far above any valid rating or vote.
SMALL_BODY_BYTES = 64 * 1024
#: Most body bytes read and discarded before an early answer, so the client hears it instead of a reset.
DRAIN_BYTES = 64 * 1024 * 1024

#: (method, path pattern, action): which requests count against which per-client rate limit; "uploads" are also
#: the requests that start a colorization, so they share the concurrency cap and the full-queue refusal.
ACTIONS = (
    ("POST", re.compile(r"^/api/results$"), "uploads"),
    ("POST", re.compile(r"^/api/comparisons$"), "uploads"),
    ("POST", re.compile(r"^/api/results/[^/]+/ratings$"), "ratings"),
    ("POST", re.compile(r"^/api/comparisons/[^/]+/vote$"), "votes"),
)


def action_of(method: str, path: str) -> str | None:
    for action_method, pattern, action in ACTIONS:
        if method == action_method and pattern.match(path):
            return action
    return None


def client_key(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


async def send_json_error(send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close"), (b"cache-control", b"no-store")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def drain(receive, max_bytes: int, timeout: float) -> bool:
    """Read and discard the request body, at most `max_bytes` and `timeout` s; True when all of it was read."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    read = 0
    while read <= max_bytes:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except asyncio.TimeoutError:
            return False
        if message["type"] != "http.request":
            return False
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


class UploadLimitMiddleware:
    """ASGI middleware for state-changing requests (anything but GET/HEAD/OPTIONS).

    POST routes in `paths` take bodies up to `max_body_bytes`, others `small_body_bytes`. `busy()` returns the
    Retry-After seconds when colorizations should be refused right away (queue full), else None. `rate_limits`
    maps an action of `ACTIONS` to its `RateLimiter`. A body that stops arriving for `body_timeout` s gets 408.
    `wait_estimate()` is the Retry-After for uploads refused by `max_concurrent_uploads`.
    """

    def __init__(self, app, max_body_bytes: int, paths: tuple[str, ...],
                 busy: Callable[[], int | None] | None = None, small_body_bytes: int = SMALL_BODY_BYTES,
                 body_timeout: float = 30.0, drain_bytes: int = DRAIN_BYTES, max_concurrent_uploads: int = 0,
                 rate_limits: dict[str, RateLimiter] | None = None, wait_estimate: Callable[[], int] | None = None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.small_body_bytes = small_body_bytes
        self.paths = frozenset(paths)
        self.busy = busy
        self.body_timeout = body_timeout
        self.drain_bytes = drain_bytes
        self.max_concurrent_uploads = max_concurrent_uploads
        self.rate_limits = rate_limits or {}
        self.wait_estimate = wait_estimate or (lambda: 1)
        self.active_uploads = 0

    def _too_large(self, upload: bool) -> str:
        if upload:
            limit_mb = (self.max_body_bytes - MULTIPART_OVERHEAD) / (1024 * 1024)
            return f"the upload is too large; the limit is {limit_mb:g} MB"
        return f"the request body is too large; the limit is {self.small_body_bytes // 1024} KB"

    async def refuse(self, receive, send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        """Answer before the app runs: drain a bounded amount of the body first, so the answer is heard."""
        await drain(receive, self.drain_bytes, self.body_timeout)
        await send_json_error(send, status, detail, headers)

    def _early_refusal(self, scope, upload: bool, action: str | None) -> tuple[int, str, dict] | None:
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        limit = self.max_body_bytes if upload else self.small_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return 413, self._too_large(upload), {}
        limiter = self.rate_limits.get(action) if action else None
        wait = limiter.acquire(client_key(scope)) if limiter is not None else None
        if wait is not None:
            return 429, f"too many {action} from this address; try again in {wait} s", {"Retry-After": str(wait)}
        if action == "uploads":
            retry_after = self.busy() if self.busy else None
            if retry_after is None and 0 < self.max_concurrent_uploads <= self.active_uploads:
                retry_after = self.wait_estimate()
            if retry_after is not None:
                return 503, f"the server is busy; try again in {retry_after} s", {"Retry-After": str(retry_after)}
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = scope["method"] == "POST" and scope["path"] in self.paths
        action = action_of(scope["method"], scope["path"])
        refusal = self._early_refusal(scope, upload, action)
        if refusal is not None:
            return await self.refuse(receive, send, *refusal)
        counted = action == "uploads"
        if counted:
            self.active_uploads += 1
        try:
            await self._guarded(scope, receive, send, self.max_body_bytes if upload else self.small_body_bytes,
                                upload)
        finally:
            if counted:
                self.active_uploads -= 1

    async def _guarded(self, scope, receive, send, limit: int, upload: bool) -> None:
        received = 0
        body_done = False
        cut_off = False
        started = False

        async def answer_instead(status: int, detail: str) -> dict:
            nonlocal cut_off
            cut_off = True
            if not started:
                if status == 413 and not body_done:  # after the last part, receive() would wait for a disconnect
                    await drain(receive, self.drain_bytes, self.body_timeout)
                await send_json_error(send, status, detail)
            # The application sees a client that went away and stops parsing.
            return {"type": "http.disconnect"}

        async def counting_receive():
            nonlocal received, body_done
            if cut_off:
                return {"type": "http.disconnect"}
            if body_done:  # after the body, receive() only waits for a disconnect: no timeout applies
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except asyncio.TimeoutError:
                return await answer_instead(408, f"the request body stopped arriving for {self.body_timeout:g} s")
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > limit:
                    return await answer_instead(413, self._too_large(upload))
            return message

        async def guarded_send(message):
            nonlocal started
            if cut_off:
                return  # we already answered; whatever the application says now goes nowhere
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
