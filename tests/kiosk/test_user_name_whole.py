"""A user name is checked whole, for the kiosk and central alike (webauth.passwords.NAME): a trailing
newline, which a regex's $ lets through, is refused when an account is made."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.kiosk.users import Role, UserError, UsersRepo
from edge.store import Store
from webauth.passwords import NAME


def test_the_shared_name_rule_refuses_a_trailing_newline() -> None:
    assert NAME.match("kim")
    assert NAME.match("kim\n") is None
    assert NAME.match("kim\nx") is None


def test_the_kiosk_refuses_an_account_named_with_a_trailing_newline(tmp_path: Path) -> None:
    with Store(tmp_path / "gate.db") as store:
        users = UsersRepo(store.conn)
        with pytest.raises(UserError, match="must match"):
            users.add("kim\n", Role.OFFICER, "kim-password-1", datetime.now(UTC))
        assert users.all() == []
