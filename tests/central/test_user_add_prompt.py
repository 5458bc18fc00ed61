"""`gate-central user add` as a new user types it: a password piped in without --password-stdin (or stdin
closed) is one line saying how to give it, never getpass's EOFError traceback; nothing is added."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from central.settings import open_store
from tests.central.test_web_api import central_cli


def test_a_piped_password_without_password_stdin_is_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "central.db"
    open_store(db_path=db).close()
    answer = central_cli(
        "user", "add", "--name", "lan", "--role", "viewer", "--db", str(db), stdin="lan-password-1\n"
    )
    assert answer.returncode == 1
    assert "Traceback" not in answer.stderr
    assert answer.stderr.strip().splitlines()[-1] == (
        "central: no password read: type it at the prompt, or pipe one line with --password-stdin"
    )
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        staff = conn.execute("SELECT COUNT(*) FROM staff").fetchone()[0] if "staff" in tables else 0
    assert staff == 0
