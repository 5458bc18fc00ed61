"""`gate-central confirmations`, and the `run` options that send them to the clearance system.

The listing reads the database only (never creates one); ``--retry ID`` makes a rejected confirmation
pending again once the clearance system has been fixed, and is the one write it does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from central import cli_options as opt
from central import confirmation_store as cstore
from central.confirm_settings import ConfirmationSettings
from central.settings import open_store
from central.sql_store import SqlCentralStore
from central.store import MessageUnstorable, OpenMode, StoreUnavailable
from sync.outbox import utc_now


def run_args(parser: argparse.ArgumentParser) -> None:
    """`run`'s options for delivering exit confirmations (none given: central sends none)."""
    group = parser.add_argument_group("confirmations to the clearance system")
    group.add_argument(
        "--confirm-url",
        default=None,
        help="The clearance system's endpoint: each exit is POSTed there as signed JSON (needs"
        " --signing-key). https; http only with --confirm-allow-http.",
    )
    group.add_argument(
        "--confirm-allow-http", action="store_true", help="Accept an http:// endpoint (tests only)."
    )
    group.add_argument("--confirm-ca", default=None, help="CA certificate (PEM) of a private https endpoint.")
    group.add_argument(
        "--confirm-timeout", type=float, default=10.0, help="Seconds per attempt (default 10)."
    )
    group.add_argument(
        "--confirm-retry-min", type=float, default=1.0, help="First wait after a failure (s, default 1)."
    )
    group.add_argument(
        "--confirm-retry-max",
        type=float,
        default=300.0,
        help="Longest wait between attempts (s, default 300).",
    )
    group.add_argument(
        "--confirm-poll", type=float, default=5.0, help="Seconds between looks for confirmations due."
    )


_OPTIONS = {
    "endpoint": "--confirm-url",
    "allow_http": "--confirm-allow-http",
    "ca_file": "--confirm-ca",
    "timeout_s": "--confirm-timeout",
    "retry_min_s": "--confirm-retry-min",
    "retry_max_s": "--confirm-retry-max",
    "poll_s": "--confirm-poll",
}


def settings_from(args: argparse.Namespace) -> ConfirmationSettings | None:
    """The confirmations' settings from `run`'s options; SystemExit naming the option that is wrong."""
    if args.confirm_url is None:
        return None
    if args.signing_key is None:
        raise SystemExit("--confirm-url: confirmations are signed; pass --signing-key as well")
    try:
        return ConfirmationSettings(
            endpoint=args.confirm_url,
            allow_http=args.confirm_allow_http,
            ca_file=Path(args.confirm_ca) if args.confirm_ca else None,
            timeout_s=args.confirm_timeout,
            retry_min_s=args.confirm_retry_min,
            retry_max_s=args.confirm_retry_max,
            poll_s=args.confirm_poll,
        )
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{_OPTIONS.get(field, '--confirm-url')}: {message}")
        raise SystemExit("central: " + "; ".join(problems)) from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "confirmations",
        help="Exit confirmations to the clearance system: pending (default), delivered, rejected or all;"
        " --retry sends a rejected one again. The database must exist: never created.",
    )
    opt.db_args(p)
    which = p.add_mutually_exclusive_group()
    for state in cstore.STATES:
        which.add_argument(
            f"--{state}", dest="state", action="store_const", const=state, help=f"Only those {state}."
        )
    which.add_argument("--all", dest="state", action="store_const", const="all", help="Every confirmation.")
    p.add_argument("--declaration", default=None, help="Only this declaration's (what of it has exited).")
    p.add_argument("--json", action="store_true", help="JSON (counts and rows with their bodies).")
    p.add_argument("--retry", default=None, metavar="ID", help="Make rejected confirmation ID pending again.")
    p.set_defaults(func=cmd_confirmations, state=None)


def _table(rows: list[cstore.ConfirmationRow]) -> str:
    lines = []
    for row in rows:
        containers = ",".join(row.body.get("containers", [])) or "-"
        why = f" {row.last_status or ''} {row.last_error or ''}".rstrip() if row.state != "delivered" else ""
        lines.append(
            f"{row.confirmation_id}  {row.state:<9}  {row.declaration_number}  gate {row.gate_id}"
            f"  exited {row.exited_at}  plate {row.body.get('plate') or '-'}  containers {containers}"
            f"  attempts {row.attempts}{why}"
        )
    return "\n".join(lines)


def cmd_confirmations(args: argparse.Namespace) -> int:
    database = opt.database(args)
    path = database.get("db_path")
    if path is not None and not path.is_file():
        hint = "confirmations never create one. Pass --db with the file `gate-central run` writes"
        print(opt.no_database(path, args.db is not None, hint), file=sys.stderr)
        return 1
    mode: OpenMode = "open" if args.retry else "read"
    try:
        store = open_store(**database, name="gate-edge-central-confirmations", mode=mode)
        try:
            if not isinstance(store, SqlCentralStore):
                raise MessageUnstorable(f"{type(store).__name__} keeps no confirmations")
            return _confirmations(store, args)
        finally:
            store.close()
    except StoreUnavailable as exc:
        print(f"central: {exc}", file=sys.stderr)
        return 1
    except MessageUnstorable as exc:  # e.g. no confirmations table yet
        print(
            f"central: cannot read the confirmations ({exc}); a database made before them gets their table"
            " when `gate-central run` next opens it",
            file=sys.stderr,
        )
        return 1


def _confirmations(store: SqlCentralStore, args: argparse.Namespace) -> int:
    if args.retry:
        try:
            again = cstore.requeue(store, args.retry, utc_now())
        except ValueError:
            print(f"central: --retry {args.retry!r} is not a confirmation id (a UUID)", file=sys.stderr)
            return 1
        if not again:
            print(
                f"central: confirmation {args.retry} is not rejected: nothing to send again", file=sys.stderr
            )
            return 1
        print(f"confirmation {args.retry}: pending again; a running central sends it")
        return 0
    # Default: what is still owed (pending); for one declaration: everything of it.
    default: cstore.State | None = None if args.declaration else "pending"
    state: cstore.State | None = None if args.state == "all" else (args.state or default)
    rows = cstore.listing(store, state, args.declaration)
    counts = cstore.counts(store)
    if args.json:
        print(json.dumps({"counts": counts, "confirmations": [r.as_json() for r in rows]}, indent=2))
        return 0
    shown = "all" if state is None else state
    where = f" of declaration {args.declaration}" if args.declaration else ""
    print(
        f"confirmations{where} ({shown}): {len(rows)}; in all: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    if rows:
        print(_table(rows))
    return 0
