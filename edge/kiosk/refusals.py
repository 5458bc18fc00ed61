"""Refusals in the officer's language: the English detail a 4xx (or 503) answer carries, matched to its
words in edge/kiosk/i18n.py, so the dialog that says why an action was refused speaks Vietnamese too.

The server's own sentence stays the answer's `detail` (the log, a script and the tests read it); the
answer adds `words` ({"vi": ..., "en": ...}) when the sentence is one of the forms below. A sentence no
form matches goes out as before, English only; tests/kiosk/test_refusal_words.py scans the kiosk's and
the officer desk's refusals so that a new one does not.

Two answers are left as they are: a 401 (the screen says "session expired" in its own words and shows
the login) and a 413 (no form on the screen can send 64 KB; the body cap answers it before the app).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

from fastapi import Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from edge.kiosk.i18n import LANGUAGES, Language, strings

# (i18n key, pattern of the English detail); named groups fill the {names} of the key's texts.
_FORMS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (key, re.compile(pattern))
    for key, pattern in (
        ("refusal_account_disabled", r"^account disabled$"),
        ("refusal_cross_site", r"^cross-site request refused$"),
        ("refusal_other_origin", r"^request from another origin refused$"),
        ("refusal_csrf", r"^CSRF token missing or wrong$"),
        ("refusal_role", r"^role (?P<role>\S+) may not do this$"),
        ("refusal_no_transaction", r"^no such transaction$"),
        ("refusal_no_evidence", r"^no evidence image with that hash$"),
        ("refusal_not_waiting", r"^no vehicle with that transaction waits for an officer$"),
        ("refusal_none_held", r"^(no vehicle is held at the lane|no held vehicle)$"),
        ("refusal_held_changed", r"^the held vehicle changed: the screen showed an earlier one$"),
        ("refusal_already_rejected", r"^already rejected by (?P<officer>.+): it must back out$"),
        ("refusal_action_pending", r"^another officer's action on this vehicle is being applied$"),
        ("refusal_supervisor_to_pass", r"^only a supervisor may let a rejected vehicle pass$"),
        ("refusal_no_inspection", r"^the held vehicle is not waiting for an inspection$"),
        ("refusal_no_declaration", r"^no held vehicle with a matched declaration$"),
        ("refusal_lane_busy", r"^the lane cannot take it now: (?P<why>.+)$"),
        ("refusal_store_busy", r"^the store cannot record this action now \((?P<why>.+)\); try again$"),
        ("refusal_controller_unreachable", r"^the lane controller is not reachable$"),
        ("refusal_barrier_open", r"^the barrier is already open$"),
        ("refusal_lane_not_started", r"^the lane has not started$"),
    )
)


@cache
def _labels(language: Language) -> dict[str, object]:
    return strings(language)


def _arg(name: str, value: str, language: Language) -> str:
    """A role in the screen's language (viewer: Chỉ xem); anything else as the server wrote it."""
    if name == "role":
        said = _labels(language).get(f"role_{value}")
        return said if isinstance(said, str) else value
    return value


def refusal_key(detail: str) -> tuple[str, dict[str, str]] | None:
    """The i18n key and the filled-in names of a refusal's English detail, or None for an unknown one."""
    for key, pattern in _FORMS:
        match = pattern.match(detail)
        if match:
            return key, {name: value for name, value in match.groupdict().items() if value is not None}
    return None


def refusal_words(detail: str) -> dict[Language, str] | None:
    """The refusal in each of the screen's languages, or None when no form knows the sentence."""
    found = refusal_key(detail)
    if found is None:
        return None
    key, args = found
    words: dict[Language, str] = {}
    for language in LANGUAGES:
        text = str(_labels(language)[key])
        for name, value in args.items():
            text = text.replace("{" + name + "}", _arg(name, value, language))
        words[language] = text
    return words


class WordedRefusal(HTTPException):
    """A refusal whose sentence is built from parts no form can match (a correction's doubts): it brings
    its own words, given by the code that refused, beside its English detail."""

    def __init__(self, status_code: int, detail: str, words: dict[str, str]) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.words = words


async def answer_refusal(request: Request, exc: Exception) -> Response:
    """The app's HTTPException handler: FastAPI's answer, with the refusal's `words` when known."""
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for that type only
        raise exc
    words: dict[str, str] | dict[Language, str] | None = None
    if isinstance(exc, WordedRefusal):
        words = exc.words
    elif isinstance(exc.detail, str):
        words = refusal_words(exc.detail)
    if words is None:
        return await http_exception_handler(request, exc)
    return JSONResponse(
        {"detail": exc.detail, "words": words}, status_code=exc.status_code, headers=exc.headers
    )
