"""`gate-edge user ...` (kiosk accounts) and `gate-edge audit verify` (the hash chain), for edge/cli.py.

Passwords come from a prompt (typed twice) or, for scripts, one line on stdin with --password-stdin;
never from the command line, where `ps` and the shell history would show them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from edge.config import ConfigError, load_config
from edge.kiosk.users import Role, UserError, UsersRepo
from edge.store import Store


def _store_path(args: argparse.Namespace) -> Path | None:
    """The store file from --db or the configuration; None (after saying why) if there is none."""
    if args.db:
        return Path(args.db)
    try:
        return load_config(args.config).store.path
    except ConfigError as exc:
        for line in exc.errors:
            print(f"{exc.source}: {line}", file=sys.stderr)
        return None


def _open(args: argparse.Namespace, must_exist: bool) -> Store | None:
    path = _store_path(args)
    if path is None:
        return None
    if must_exist and not path.exists():
        print(f"{path}: no such store", file=sys.stderr)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return Store(path)


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        print("passwords differ", file=sys.stderr)
        return None
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        return 1
    store = _open(args, must_exist=False)
    if store is None:
        return 1
    with store:
        try:
            user = UsersRepo(store.conn).add(args.name, Role(args.role), password, datetime.now(UTC))
        except UserError as exc:
            print(f"user add: {exc}", file=sys.stderr)
            return 1
    print(f"user {user.name} added as {user.role}")
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        return 1
    return _change(args, lambda repo: repo.set_password(args.name, password), "password changed")


def cmd_user_disable(args: argparse.Namespace) -> int:
    return _change(args, lambda repo: repo.set_disabled(args.name, True), "disabled")


def cmd_user_enable(args: argparse.Namespace) -> int:
    return _change(args, lambda repo: repo.set_disabled(args.name, False), "enabled")


def _change(args: argparse.Namespace, change: Callable[[UsersRepo], None], done: str) -> int:
    store = _open(args, must_exist=True)
    if store is None:
        return 1
    with store:
        repo = UsersRepo(store.conn)
        if repo.get(args.name) is None:
            print(f"no user {args.name!r}", file=sys.stderr)
            return 1
        try:
            change(repo)
        except UserError as exc:
            print(f"user: {exc}", file=sys.stderr)
            return 1
    print(f"user {args.name}: {done}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    store = _open(args, must_exist=True)
    if store is None:
        return 1
    with store:
        for user in UsersRepo(store.conn).all():
            print(f"{user.name}\t{user.role}\t{'disabled' if user.disabled else 'active'}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Exit 0 if the chain is intact; else name the first broken record and exit 1."""
    store = _open(args, must_exist=True)
    if store is None:
        return 1
    with store:
        broken = store.audit.verify()
        count = int(store.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
        if broken is None:
            print(f"audit: {count} records, hash chain intact, head {store.audit.head()}")
            return 0
        row = store.conn.execute(
            "SELECT at, actor, action, subject FROM audit WHERE id = ?", (broken,)
        ).fetchone()
    if row is None:
        print(f"audit: record {broken} is missing (deleted): the chain breaks there", file=sys.stderr)
    else:
        at, actor, action, subject = row
        print(
            f"audit: record {broken} is broken (changed, moved, or its predecessor removed): "
            f"{at} {actor} {action} {subject}",
            file=sys.stderr,
        )
    return 1


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="Gate configuration (embedded defaults if omitted).")
    parser.add_argument("--db", default=None, help="Store file (overrides store.path).")


def add_kiosk_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `user` and `audit` to gate-edge's subcommands (`subparsers` from add_subparsers())."""
    user = subparsers.add_parser("user", help="Kiosk accounts: officers, supervisors, viewers.")
    usub = user.add_subparsers(dest="action", required=True)

    p = usub.add_parser("add", help="Add an account; the password is prompted for (or read from stdin).")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--password-stdin", action="store_true", help="Read the password from one stdin line.")
    _store_options(p)
    p.set_defaults(func=cmd_user_add)

    p = usub.add_parser("passwd", help="Set an account's password.")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="Read the password from one stdin line.")
    _store_options(p)
    p.set_defaults(func=cmd_user_passwd)

    for name, func, text in (
        ("disable", cmd_user_disable, "Refuse logins to an account (its sessions end at once)."),
        ("enable", cmd_user_enable, "Allow logins to a disabled account again."),
    ):
        p = usub.add_parser(name, help=text)
        p.add_argument("name")
        _store_options(p)
        p.set_defaults(func=func)

    p = usub.add_parser("list", help="List accounts with their role and state.")
    _store_options(p)
    p.set_defaults(func=cmd_user_list)

    audit = subparsers.add_parser("audit", help="The officers' audit trail.")
    asub = audit.add_subparsers(dest="action", required=True)
    p = asub.add_parser("verify", help="Check the hash chain; name the first broken record (exit 1).")
    _store_options(p)
    p.set_defaults(func=cmd_audit_verify)
