"""`gate-central`: the central office's command line (run, clearances, command, report).

Also reached as ``gate-edge central ...`` (edge/cli/central.py, a lazy alias) and ``python -m central``.
Only ``run --create`` makes a new database: every other command, and ``run`` without it, needs the
database to exist, so a misspelt ``--db`` is an error naming the path, never an empty new file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from central import cli_confirmations, cli_evidence
from central import cli_options as opt
from central.feed import FeedFileError, load_declarations
from central.receiver import Central
from central.settings import open_store
from central.staff_cli import add_user_commands
from central.store import MessageUnstorable, OpenMode, StoreUnavailable

_COMMANDS = ("reload_clearances", "status_report", "open_barrier")
_MAKE_ONE = "pass --create to make a new one (or --db-url / --db-url-env for PostgreSQL)"
_RUN_FIRST = "`gate-central run --create` makes it (or pass --db-url / --db-url-env for PostgreSQL)"


def _connected(central: Central, timeout: float = 10.0) -> Central:
    central.start()
    if not central.subscribed.wait(timeout):
        central.stop()
        raise SystemExit("central: could not connect and subscribe to the broker")
    return central


def cmd_run(args: argparse.Namespace) -> int:
    mode: OpenMode = "create" if args.create else "open"
    settings = opt.settings(
        args,
        group=args.group or None,
        name=args.name,
        signing_key=opt.signing_key(args),
        db_mode=mode,
        confirmations=cli_confirmations.settings_from(args),
    )
    opt.check_database(settings, args.db is not None, mode, _MAKE_ONE)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before "receiving": a stop right after it is clean too
        signal.signal(sig, lambda *_: stop.set())
    screen = None
    if args.http:  # the screen's web stack is imported only when it is served
        from central.web.serve import serve_screen

        screen = serve_screen(args.http, settings, cli_evidence.desk_from(args, settings))
    central = _connected(Central(settings))
    print(f"central {args.name}: receiving (group {args.group or '-'})", flush=True)
    stop.wait()
    if screen is not None:
        screen.stop()
    central.stop()
    print(f"central {args.name}: stopped; {dict(central.counts)}", flush=True)
    return 0


def cmd_clearances(args: argparse.Namespace) -> int:
    try:
        declarations = load_declarations(Path(args.file))
    except FeedFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    name = f"central-feed-{os.getpid()}"
    key = opt.signing_key(args)
    settings = opt.settings(
        args, group=None, name=name, session_expiry_s=0, acks_only=True, signing_key=key, db_mode="open"
    )
    opt.check_database(settings, args.db is not None, "open", _RUN_FIRST)
    central = _connected(Central(settings))
    try:
        message = central.publish_clearances(args.gate, declarations, snapshot=args.snapshot)
    except (StoreUnavailable, MessageUnstorable) as exc:
        print(f"central: {exc}", file=sys.stderr)
        return 1
    finally:
        central.stop()
    if message is None:
        print(f"gate {args.gate}: nothing changed, nothing sent")
    else:
        print(f"gate {args.gate}: {message.type} at feed version {message.feed_version} sent")
    return 0


def cmd_command(args: argparse.Namespace) -> int:
    key = opt.env(args.key_env, "--key-env")
    if key is None:
        raise SystemExit("--key-env is required")
    name = f"central-cmd-{os.getpid()}"
    settings = opt.settings(args, group=None, name=name, session_expiry_s=0, acks_only=True, db_mode="open")
    opt.check_database(settings, args.db is not None, "open", _RUN_FIRST)  # the answer is stored there
    central = _connected(Central(settings))
    try:
        command = central.send_command(args.gate, args.name, key, args.issuer, args.reason)
        ack = central.wait_ack(command.command_id, args.wait)
    finally:
        central.stop()
    if ack is None:
        print(f"command {command.command_id}: no answer within {args.wait} s", file=sys.stderr)
        return 2
    print(ack.model_dump_json(indent=2))
    return 0 if ack.status == "accepted" else 1


def cmd_report(args: argparse.Namespace) -> int:
    """Print what central stored; the database must exist: a report never creates one."""
    database = opt.database(args)
    path = database.get("db_path")
    if path is not None and not path.is_file():
        hint = "a report never creates one. Pass --db with the file `gate-central run` writes" + (
            " (or --db-url / --db-url-env for PostgreSQL)"
        )
        print(opt.no_database(path, args.db is not None, hint), file=sys.stderr)
        return 1
    try:
        store = open_store(**database, name="gate-edge-central-report", mode="read")
        try:
            report = store.report()
        finally:
            store.close()
    except (StoreUnavailable, MessageUnstorable) as exc:
        print(f"central: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


def build_parser(prog: str = "gate-central") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="The central office: receive gate events, send clearances and commands, report.",
    )
    sub = parser.add_subparsers(dest="action", required=True)

    p = sub.add_parser("run", help="Receive every gate's events into the database until interrupted.")
    opt.broker_args(p)
    p.add_argument("--group", default="central", help="Shared subscription group ('' for none).")
    p.add_argument("--name", default="central-1", help="MQTT client id of this instance (unique).")
    p.add_argument(
        "--create",
        action="store_true",
        help="Make the SQLite database (and its folder) if it is not there; without it a missing --db is"
        " an error.",
    )
    opt.signing_args(p, required=False)
    p.add_argument(
        "--http",
        default=None,
        metavar="HOST:PORT",
        help="Also serve the central screen there (accounts: `gate-central user add`).",
    )
    cli_confirmations.run_args(p)
    cli_evidence.run_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("clearances", help="Send a gate its clearances from a JSON or CSV file.")
    opt.broker_args(p)
    p.add_argument("--gate", required=True, help="Gate id.")
    p.add_argument("--file", required=True, help="JSON list or CSV of the declarations cleared for the gate.")
    p.add_argument("--snapshot", action="store_true", help="Send a full snapshot instead of a delta.")
    opt.signing_args(p, required=True)
    p.set_defaults(func=cmd_clearances)

    p = sub.add_parser("command", help="Send a gate a signed command and print its answer.")
    opt.broker_args(p)
    p.add_argument("--gate", required=True, help="Gate id.")
    p.add_argument("--name", required=True, choices=_COMMANDS, help="The command.")
    p.add_argument("--key-env", required=True, help="Environment variable holding the gate's command key.")
    p.add_argument("--issuer", default=os.environ.get("USER", "central"), help="Who issues it (audited).")
    p.add_argument("--reason", default="", help="Why (audited).")
    p.add_argument("--wait", type=float, default=10.0, help="Seconds to wait for the gate's answer.")
    p.set_defaults(func=cmd_command)

    p = sub.add_parser(
        "report",
        help="Per gate: events stored, highest seq, missing events (gaps), telemetry apart; rejected"
        " messages per reason. The database must exist: never created.",
    )
    opt.db_args(p)
    p.set_defaults(func=cmd_report)
    add_user_commands(sub)
    cli_confirmations.add_parser(sub)
    return parser


def main(argv: list[str] | None = None, prog: str = "gate-central") -> int:
    args = build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args))
