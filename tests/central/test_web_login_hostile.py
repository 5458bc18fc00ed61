"""Logins a hostile client may send, on both of central's databases: a name with a NUL or other control
character is answered as any wrong login (401) and audited, never a 500 (PostgreSQL's text refuses NUL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
import pytest

from central.accounts import AccountError, Accounts, StaffRole
from central.web.serve import ScreenServer
from central.web.settings import WebSettings
from tests.central.central_db import Database, open_database
from tests.central.screen_gates import free_port


@pytest.fixture(params=["sqlite", "postgres"])
def screen_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Database]]:
    for database in open_database(request.param, tmp_path):
        store = database.open()
        try:
            Accounts(store).add("lan", StaffRole.SUPERVISOR, "lan-password-1", datetime.now(UTC))
        finally:
            store.close()
        port = free_port()
        server = ScreenServer(partial(database.open, "web"), WebSettings(port=port))
        server.start()
        try:
            yield f"http://127.0.0.1:{port}", database
        finally:
            server.stop()


@pytest.mark.parametrize("name", ["lan\u0000", "\u0000", "lan\u001b[2J", "lan\u2028x", "lan\n"])
def test_a_login_name_with_control_characters_is_a_plain_401_and_audited(
    screen_url: tuple[str, Database], name: str
) -> None:
    url, _database = screen_url
    with httpx.Client(base_url=url, timeout=10) as client:
        answer = client.post("/api/v1/login", json={"name": name, "password": "wrong-pass-1"})
        assert (answer.status_code, answer.json()) == (401, {"detail": "wrong user name or password"})
        good = client.post("/api/v1/login", json={"name": "lan", "password": "lan-password-1"})
        assert good.status_code == 200
        trail = client.get("/api/v1/audit").json()
    failed = [row for row in trail if row["action"] == "login.failed"]
    assert len(failed) == 1
    assert failed[0]["actor"].startswith("lan" if name.startswith("lan") else "?")
    assert all(ch.isprintable() for ch in failed[0]["actor"])


def test_an_account_name_with_a_trailing_newline_is_refused(screen_url: tuple[str, Database]) -> None:
    _url, database = screen_url
    store = database.open()
    try:
        with pytest.raises(AccountError, match="must match"):
            Accounts(store).add("kim\n", StaffRole.VIEWER, "kim-password-1", datetime.now(UTC))
        assert [a.name for a in Accounts(store).all()] == ["lan"]
    finally:
        store.close()
