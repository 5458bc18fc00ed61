"""`gate-edge store backup|check`: an online copy of the lane's SQLite store, and a check before a restore.

The backup uses SQLite's online backup API over a read-only connection, so the daemon keeps running and
writing: the copy is one consistent moment of the store (WAL included), never a half-written file as
`cp` of a live database can be. The check opens a file read-only (no migration runs) and says whether it is
intact and which release can open it, before it replaces a store.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path

from edge.cli.loading import load_or_exit
from edge.cli.store_file import add_store_options
from edge.store.migrations import LATEST_VERSION

#: Tables counted in the check's summary: what a restore brings back.
_COUNTED = ("transactions", "outbox", "declarations", "watchlist", "users", "audit")


class _Unusable(Exception):
    """The file is not a usable store; the message says why."""


def _read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise _Unusable(f"{path}: no such file")
    if not path.is_file():
        raise _Unusable(f"{path}: not a regular file (a folder, device or pipe is no store)")
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise _Unusable(f"{path}: cannot open: {exc}") from exc


def _summary(conn: sqlite3.Connection, path: Path) -> list[str]:
    """Integrity, schema version and row counts; _Unusable when the file is damaged or not a store."""
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise _Unusable(f"{path}: not an SQLite database, or damaged: {exc}") from exc
    if integrity != ["ok"]:
        raise _Unusable(f"{path}: integrity check failed: {'; '.join(integrity[:5])}")
    if "schema_version" not in tables:
        raise _Unusable(f"{path}: not a gate-edge store (no schema_version table)")
    version = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])
    if version > LATEST_VERSION:
        opens = f"newer than this release knows ({LATEST_VERSION}): only a newer release opens it"
    elif version < LATEST_VERSION:
        opens = f"older: this release (schema {LATEST_VERSION}) migrates it at start"
    else:
        opens = "this release's"
    lines = ["integrity: ok", f"schema version: {version} ({opens})"]
    for table in _COUNTED:
        if table in tables:
            count = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608 (fixed names)
            lines.append(f"{table}: {count} rows")
    if "outbox" in tables:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
        if "delivered_at" in columns:
            waiting = conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
            lines.append(f"events not yet delivered to central: {waiting}")
    return lines


def cmd_store_backup(args: argparse.Namespace) -> int:
    source = Path(args.db) if args.db else load_or_exit(args.config).store.path
    out = Path(args.out)
    if out.exists() or out.is_symlink():  # a dangling link too: nothing is written through it
        print(f"store backup: {out} already exists; a backup never overwrites a file", file=sys.stderr)
        return 1
    try:
        src = _read_only(source)
    except _Unusable as exc:
        print(f"store backup: {exc}", file=sys.stderr)
        return 1
    try:  # O_EXCL: never through a symlink, never over a file that appeared since the check above
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)  # not world-readable, even briefly
    except OSError as exc:
        src.close()
        print(f"store backup: cannot create {out}: {exc.strerror or exc}; nothing written", file=sys.stderr)
        return 1
    os.close(fd)
    try:  # from here the file is this backup's own: a failure removes it
        with src, sqlite3.connect(out) as dst:
            src.backup(dst)
            lines = _summary(dst, out)
        dst.close()
    except (sqlite3.Error, OSError, _Unusable) as exc:
        out.unlink(missing_ok=True)
        print(f"store backup: {source} -> {out} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        src.close()
    print(f"backup of {source} written to {out}")
    for line in lines:
        print(f"  {line}")
    return 0


def cmd_store_check(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        conn = _read_only(path)
        try:
            lines = _summary(conn, path)
        finally:
            conn.close()
    except _Unusable as exc:
        print(f"store check: {exc}", file=sys.stderr)
        return 1
    print(f"{path}:")
    for line in lines:
        print(f"  {line}")
    return 0


def add_store_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `store` (backup, check) to gate-edge's subcommands."""
    p = subparsers.add_parser("store", help="The lane's SQLite store: online backup, check before a restore.")
    sub = p.add_subparsers(dest="action", required=True)
    q = sub.add_parser(
        "backup",
        help="Copy the store while the daemon runs (SQLite's online backup) into a new file, then check the "
        "copy.",
    )
    q.add_argument("out", metavar="OUT", help="The backup file to create (never overwritten).")
    add_store_options(q)
    q.set_defaults(func=cmd_store_backup)
    q = sub.add_parser(
        "check",
        help="Check a store or backup file read-only: integrity, schema version (which releases open it), "
        "row counts.",
    )
    q.add_argument("file", metavar="FILE")
    q.set_defaults(func=cmd_store_check)
