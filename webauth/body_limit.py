"""Request bodies capped while they are read: a body over the cap is answered 413 before anything parses it.

Parsing JSON holds the loop and the GIL: one anonymous 20 MB login body once stalled the kiosk's loop for
9 s. The cap applies to a declared Content-Length before a byte is read, and to the bytes as they arrive,
so a chunked body without a length cannot outgrow it either. The rest of a refused body is read and
dropped by uvicorn, so the client still gets its 413 instead of a reset connection.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the cap; FastAPI answers it as this 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=f"request body over the {max_bytes}-byte limit")


class BodyLimit:
    """Pure ASGI middleware: 413 for a request whose body is, or is declared, over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = BodyTooLarge(self.max_bytes)
        declared = Headers(scope=scope).get("content-length", "")
        # ASCII digits only ("²" is a digit to str.isdigit, not to int); h11 refuses a malformed length itself
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(too_large, scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:  # the app answered and then read on: nothing left to say but to stop
                raise
            await _refuse(too_large, scope, receive, send)  # an app that let it through unanswered


async def _refuse(error: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse({"detail": error.detail}, status_code=error.status_code)(scope, receive, send)
