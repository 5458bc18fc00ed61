"""`gate-central user add|list|disable|enable`: the central screen's staff accounts, in central's database.

Passwords come from a prompt (typed twice) or, for scripts, one line on stdin with --password-stdin; they
never appear on the command line. The database must exist (`gate-central run --create` makes it).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from central import cli_options as opt
from central.accounts import AccountError, Accounts, StaffRole
from central.settings import open_store
from central.store import MessageUnstorable, StoreUnavailable


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Password again: ")
    except (EOFError, KeyboardInterrupt):  # stdin piped or closed without --password-stdin, or Ctrl-C
        print(
            "\ncentral: no password read: type it at the prompt, or pipe one line with --password-stdin",
            file=sys.stderr,
        )
        return None
    if again != first:
        print("passwords differ", file=sys.stderr)
        return None
    return first


def _with_accounts(args: argparse.Namespace, act: Callable[[Accounts], str]) -> int:
    database = opt.database(args)
    path = database.get("db_path")
    if path is not None and not path.is_file():
        print(
            opt.no_database(path, args.db is not None, "`gate-central run --create` makes it"),
            file=sys.stderr,
        )
        return 1
    try:
        store = open_store(**database, name="gate-central-user", mode="open")
        try:
            print(act(Accounts(store)))
        finally:
            store.close()
    except AccountError as exc:
        print(f"central: {exc}", file=sys.stderr)
        return 1
    except (StoreUnavailable, MessageUnstorable) as exc:
        print(f"central: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        return 1

    def add(accounts: Accounts) -> str:
        user = accounts.add(args.name, StaffRole(args.role), password, datetime.now(UTC))
        return f"user {user.name} added ({user.role})"

    return _with_accounts(args, add)


def cmd_user_list(args: argparse.Namespace) -> int:
    def listing(accounts: Accounts) -> str:
        rows = [f"{a.name}\t{a.role}" + ("\tdisabled" if a.disabled else "") for a in accounts.all()]
        return "\n".join(rows) or "no users"

    return _with_accounts(args, listing)


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    def change(accounts: Accounts) -> str:
        accounts.set_disabled(args.name, disabled, by=f"cli:{getpass.getuser()}", at=datetime.now(UTC))
        return f"user {args.name} {'disabled' if disabled else 'enabled'}"

    return _with_accounts(args, change)


def add_user_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `user` command group, added to gate-central's parser."""
    user = sub.add_parser("user", help="Staff accounts of the central screen (in central's database).")
    usub = user.add_subparsers(dest="user_action", required=True)
    p = usub.add_parser("add", help="Add an account; the password is prompted for (or read from stdin).")
    p.add_argument("--name", required=True, help="Login name.")
    p.add_argument("--role", required=True, choices=[r.value for r in StaffRole], help="What it may see.")
    p.add_argument("--password-stdin", action="store_true", help="Read the password from one stdin line.")
    opt.db_args(p)
    p.set_defaults(func=cmd_user_add)
    p = usub.add_parser("list", help="Accounts with their roles.")
    opt.db_args(p)
    p.set_defaults(func=cmd_user_list)
    for name, disabled in (("disable", True), ("enable", False)):
        p = usub.add_parser(name, help=f"{name.capitalize()} an account (its sessions end at once).")
        p.add_argument("--name", required=True, help="Login name.")
        opt.db_args(p)
        p.set_defaults(func=lambda a, d=disabled: _set_disabled(a, d))
