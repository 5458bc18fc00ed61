"""The login session's cookie, set and cleared the same way by the kiosk and the central screen.

HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and Secure when the app is
served over TLS; clearing it must repeat the attributes it was set with, or the browser keeps it.
"""

from __future__ import annotations

from starlette.responses import Response

from webauth.sessions import SESSION_COOKIE


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    """Give the browser the session's token."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    """Tell the browser to forget the session's token (on logout)."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
