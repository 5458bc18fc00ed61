"""`gate-edge user ...`: the kiosk's accounts (officers, supervisors, viewers).

Passwords come from a prompt (typed twice) or, for scripts, one line on stdin with --password-stdin;
never from the command line, where `ps` and the shell history would show them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from edge.cli.store_file import add_store_options, open_store
from edge.kiosk.users import Role, UserError, UsersRepo


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
    store = open_store(args, must_exist=False)
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
    store = open_store(args, must_exist=True)
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
    store = open_store(args, must_exist=True)
    if store is None:
        return 1
    with store:
        for user in UsersRepo(store.conn).all():
            print(f"{user.name}\t{user.role}\t{'disabled' if user.disabled else 'active'}")
    return 0


def add_users_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `user` to gate-edge's subcommands (`subparsers` from add_subparsers())."""
    user = subparsers.add_parser("user", help="Kiosk accounts: officers, supervisors, viewers.")
    usub = user.add_subparsers(dest="action", required=True)

    p = usub.add_parser("add", help="Add an account; the password is prompted for (or read from stdin).")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--password-stdin", action="store_true", help="Read the password from one stdin line.")
    add_store_options(p)
    p.set_defaults(func=cmd_user_add)

    p = usub.add_parser("passwd", help="Set an account's password.")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="Read the password from one stdin line.")
    add_store_options(p)
    p.set_defaults(func=cmd_user_passwd)

    for name, func, text in (
        ("disable", cmd_user_disable, "Refuse logins to an account (its sessions end at once)."),
        ("enable", cmd_user_enable, "Allow logins to a disabled account again."),
    ):
        p = usub.add_parser(name, help=text)
        p.add_argument("name")
        add_store_options(p)
        p.set_defaults(func=func)

    p = usub.add_parser("list", help="List accounts with their role and state.")
    add_store_options(p)
    p.set_defaults(func=cmd_user_list)
