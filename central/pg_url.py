"""PostgreSQL URLs as central takes them: checked, and shown without their password.

psycopg is imported when a URL is checked, not with this module: it is the optional ``central`` extra, and
a central on SQLite (the demo's) runs without it.
"""

from __future__ import annotations

import re
from typing import Any

INSTALL_HINT = "PostgreSQL needs psycopg: pip install 'border-gate-edge[central]'"


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _conninfo(url: str) -> dict[str, Any]:
    try:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise ValueError(f"{INSTALL_HINT} (for {redact(url)})") from None
    try:
        return dict(conninfo_to_dict(url))
    except ProgrammingError as exc:
        raise ValueError(f"malformed database URL {redact(url)}: {reason(exc)}") from None


def check_url(url: str) -> None:
    """Raise ValueError, naming the problem but not the password, if ``url`` is not a PostgreSQL URL."""
    if not is_postgres_url(url):
        raise ValueError(f"not a postgresql:// URL: {redact(url)}")
    _conninfo(url)


def url_has_password(url: str) -> bool:
    return bool(_conninfo(url).get("password"))


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    # Up to the last '@': a password may hold an unescaped '@' or '/', and hiding too much is safe.
    url = re.sub(r"^([a-z]+://[^:@/]*):.*@(?=[^@]*$)", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def reason(exc: BaseException) -> str:
    """libpq's message on one line (it spreads hints over several)."""
    return " ".join(str(exc).split()) or type(exc).__name__
