"""`gate-edge user ...` and `gate-edge audit verify`, through the parsers the kiosk adds to gate-edge."""

from __future__ import annotations

import argparse
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.cli.audit import add_audit_parser
from edge.cli.users import add_users_parser
from edge.kiosk.users import Role, UsersRepo, verify_password
from edge.store import Store


def run(argv: list[str], stdin: str = "") -> int:
    parser = argparse.ArgumentParser(prog="gate-edge")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_users_parser(subparsers)
    add_audit_parser(subparsers)
    args = parser.parse_args(argv)
    saved, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        return int(args.func(args))
    finally:
        sys.stdin = saved


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "gate.db"


def test_user_add_hashes_the_password_read_from_stdin(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        ["user", "add", "olga", "--role", "officer", "--password-stdin", "--db", str(db)], "s3cret-pass\n"
    )
    assert code == 0
    assert capsys.readouterr().out == "user olga added as officer\n"
    with Store(db) as store:
        user = UsersRepo(store.conn).get("olga")
        assert user is not None
        assert user.role is Role.OFFICER
        assert verify_password(user.password_hash, "s3cret-pass")
        assert "s3cret-pass" not in user.password_hash


def test_user_add_prompts_twice_and_refuses_a_mismatch(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["first-password", "second-password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert run(["user", "add", "sam", "--role", "supervisor", "--db", str(db)]) == 1
    assert "passwords differ" in capsys.readouterr().err
    answers = iter(["same-password", "same-password"])
    assert run(["user", "add", "sam", "--role", "supervisor", "--db", str(db)]) == 0


def test_user_add_refuses_a_taken_name_and_a_short_password(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["user", "add", "vic", "--role", "viewer", "--password-stdin", "--db", str(db)]
    assert run(base, "long-enough-1\n") == 0
    assert run(base, "long-enough-2\n") == 1
    assert "already exists" in capsys.readouterr().err
    assert run([*base[:2], "val", *base[3:]], "short\n") == 1
    assert "at least 8 characters" in capsys.readouterr().err


def test_user_list_shows_active_and_disabled_accounts(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("olga", "sam"):
        run(["user", "add", name, "--role", "officer", "--password-stdin", "--db", str(db)], "s3cret-pass\n")
    assert run(["user", "disable", "olga", "--db", str(db)]) == 0
    capsys.readouterr()
    assert run(["user", "list", "--db", str(db)]) == 0
    assert capsys.readouterr().out == "olga\tofficer\tdisabled\nsam\tofficer\tactive\n"
    assert run(["user", "enable", "olga", "--db", str(db)]) == 0
    assert run(["user", "disable", "nobody", "--db", str(db)]) == 1


def test_there_is_no_unlock_command_since_nothing_locks_an_account(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        run(["user", "unlock", "olga"])
    assert info.value.code == 2
    assert "invalid choice: 'unlock'" in capsys.readouterr().err


def _three_records(db: Path) -> None:
    with Store(db) as store:
        for n in range(1, 4):
            store.audit.append(
                actor="olga",
                action="approve",
                subject=f"tx-{n}",
                reason="plate checked by eye",
                before={"outcome": "HOLD"},
                after={"approved_by": "olga"},
                at=datetime.now(UTC),
            )


def test_audit_verify_passes_an_intact_chain(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _three_records(db)
    assert run(["audit", "verify", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("audit: 3 records, hash chain intact, head ")


def test_audit_verify_names_the_first_tampered_record_and_exits_1(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _three_records(db)
    with Store(db) as store:
        store.conn.execute("UPDATE audit SET reason = 'nobody looked' WHERE id = 2")
    assert run(["audit", "verify", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("audit: record 2 is broken")
    assert "olga approve tx-2" in err


def test_audit_verify_names_a_deleted_newest_record(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _three_records(db)
    with Store(db) as store:
        store.conn.execute("DELETE FROM audit WHERE id = 3")
    assert run(["audit", "verify", "--db", str(db)]) == 1
    assert "record 3 is missing" in capsys.readouterr().err


def test_audit_verify_on_a_missing_store_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["audit", "verify", "--db", str(tmp_path / "none.db")]) == 1
    assert "no such store" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
