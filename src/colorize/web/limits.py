"""Refuse oversize uploads while they stream in, and refuse uploads outright while the job queue is full.

Every other request body (ratings, comparisons, votes: small JSON) gets a small cap of its own, so no route reads
an unbounded body into memory before validating it.

This runs before FastAPI parses the multipart body: a Content-Length over the limit is refused without reading
a byte, and a body without one (chunked) is counted as it arrives and cut off as soon as it passes the limit, so
a 2 GB upload costs at most the limit in bandwidth and temporary disk, never memory.
"""

from __future__ import annotations

import json
from typing import Awaitable, Callable

#: Room for the multipart boundary lines and headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
#: Cap on the body of every request that is not a photo upload: far above any valid rating or vote.
SMALL_BODY_BYTES = 64 * 1024


async def send_json_error(send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class UploadLimitMiddleware:
    """ASGI middleware: POST routes in `paths` take bodies up to `max_body_bytes`, other bodies `small_body_bytes`.

    `busy()` returns the Retry-After seconds when uploads should be refused right away (queue full), else None.
    """

    def __init__(self, app, max_body_bytes: int, paths: tuple[str, ...],
                 busy: Callable[[], int | None] | None = None, small_body_bytes: int = SMALL_BODY_BYTES):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.small_body_bytes = small_body_bytes
        self.paths = frozenset(paths)
        self.busy = busy

    def _too_large(self, upload: bool) -> str:
        if upload:
            limit_mb = (self.max_body_bytes - MULTIPART_OVERHEAD) / (1024 * 1024)
            return f"the upload is too large; the limit is {limit_mb:g} MB"
        return f"the request body is too large; the limit is {self.small_body_bytes // 1024} KB"

    async def __call__(self, scope, receive, send) -> Awaitable[None] | None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = scope["method"] == "POST" and scope["path"] in self.paths
        limit = self.max_body_bytes if upload else self.small_body_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await send_json_error(send, 413, self._too_large(upload))
        retry_after = self.busy() if self.busy and upload else None
        if retry_after is not None:
            return await send_json_error(send, 503, f"the server is busy; try again in {retry_after} s",
                                         {"Retry-After": str(retry_after)})

        received = 0
        cut_off = False
        started = False

        async def counting_receive():
            nonlocal received, cut_off
            if cut_off:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut_off = True
                    if not started:
                        await send_json_error(send, 413, self._too_large(upload))
                    # The application sees a client that went away and stops parsing.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if cut_off:
                return  # we already answered 413; whatever the application says now goes nowhere
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        return await self.app(scope, counting_receive, guarded_send)
