"""422 answers that say what was wrong where, echoing at most a short prefix of the bad value.

FastAPI's own answer echoes each bad value whole (a 60 KB field came back whole, a missing field echoes
the whole body, password included) and fails with a 500 when a value holds a lone surrogate, because the
JSON answer cannot be encoded. Here a value is echoed only when it is a plain scalar of a field that is
not secret, cut to ECHO_CHARS, with surrogates written as escapes; at most MAX_ERRORS errors are listed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

ECHO_CHARS = 64
MAX_ERRORS = 20  # a 64 KB body of 16,000 unknown keys makes 16,000 errors: the first few say enough
_TEXT_CHARS = 200  # messages and their context come from the schema or our validators, not the input
SECRET_FIELDS = frozenset({"password"})


def printable(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (an ellipsis says so), lone surrogates written as \\udXXX."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return cut.encode("utf-8", "backslashreplace").decode("utf-8")


def _echo(value: object) -> tuple[bool, object]:
    """(True, value to show) for a scalar worth echoing; (False, None) for bodies, lists, bytes."""
    if value is None or isinstance(value, bool):
        return True, value
    if isinstance(value, int):
        return (True, value) if abs(value) < 10**18 else (False, None)
    if isinstance(value, float):
        return (True, value) if math.isfinite(value) else (False, None)  # JSON has no inf or nan
    if isinstance(value, str):
        return True, printable(value, ECHO_CHARS)
    return False, None


def public_error(error: Mapping[str, Any]) -> dict[str, Any]:
    """One pydantic error as the answer shows it: type, loc, msg, and input and ctx where safe."""
    loc = [part if isinstance(part, int) else printable(str(part), ECHO_CHARS) for part in error["loc"]]
    shown: dict[str, Any] = {
        "type": printable(str(error["type"]), _TEXT_CHARS),
        "loc": loc,
        "msg": printable(str(error["msg"]), _TEXT_CHARS),
    }
    if not SECRET_FIELDS.intersection(str(part) for part in error["loc"]):
        worth, value = _echo(error.get("input"))
        if worth:
            shown["input"] = value
    ctx = error.get("ctx")
    if isinstance(ctx, Mapping):
        shown["ctx"] = {
            printable(str(key), ECHO_CHARS): item
            if isinstance(item, (int, bool)) or (isinstance(item, float) and math.isfinite(item))
            else printable(str(item), _TEXT_CHARS)
            for key, item in ctx.items()
        }
    return shown


async def answer_validation_error(_: Request, exc: Exception) -> JSONResponse:
    """The exception handler for RequestValidationError (registered on the app)."""
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for that type only
        raise exc
    detail = [public_error(error) for error in exc.errors()[:MAX_ERRORS]]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
