"""`gate-edge central`: the reference central office (receive events, send clearances and commands).

``add_central_parser`` plugs the subcommand into the gate's CLI; ``python -m edge.cli.central`` runs it alone.
Secrets (broker password, command key, a database URL with a password) are read from environment variables
named on the command line, never from arguments, which other users of the machine can read; the clearance
signing key from its own file (``--signing-key``, made by ``gate-edge keys generate``).
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
from typing import Any

from pydantic import SecretStr

from sync.central import Central, CentralSettings, open_store
from sync.central_feed import FeedFileError, load_declarations
from sync.central_pg import check_url, url_has_password
from sync.central_store import SqliteCentralStore, StoreUnavailable
from sync.config import BrokerConfig, TlsConfig
from sync.signing_keys import KeyFileError, SigningKey, load_signing_key

_COMMANDS = ("reload_clearances", "status_report", "open_barrier")
DEFAULT_DB = "var/central.db"


def _broker_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="Broker host.")
    parser.add_argument("--port", type=int, default=1883, help="Broker port.")
    parser.add_argument("--protocol", choices=("5", "3.1.1"), default="5", help="MQTT version.")
    parser.add_argument("--username", default=None, help="Broker user name.")
    parser.add_argument("--password-env", default=None, help="Environment variable holding the password.")
    parser.add_argument("--tls-ca", default=None, help="CA certificate (PEM): enables TLS.")
    parser.add_argument("--tls-cert", default=None, help="Client certificate (PEM).")
    parser.add_argument("--tls-key", default=None, help="Client key (PEM).")
    parser.add_argument("--prefix", default="customs/v1/gates/{gate_id}/", help="Topic prefix template.")
    _db_args(parser)


def _signing_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--signing-key",
        required=required,
        default=None,
        help="Private key file (PEM, Ed25519) that signs every clearance message"
        + ("." if required else "; without it, a gate's request for a snapshot goes unanswered."),
    )
    parser.add_argument(
        "--key-id", default=None, help="Id the gates know the key by (default: the key file's name)."
    )


def _signing_key(args: argparse.Namespace) -> SigningKey | None:
    if args.signing_key is None:
        return None
    try:
        return load_signing_key(Path(args.signing_key), args.key_id)
    except KeyFileError as exc:
        raise SystemExit(f"--signing-key: {exc}") from None


def _db_args(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", default=None, help=f"Central's SQLite database file (default {DEFAULT_DB}).")
    where.add_argument(
        "--db-url",
        default=None,
        help="PostgreSQL instead of SQLite: postgresql://USER@HOST:PORT/DBNAME (a schema: append"
        " ?options=-csearch_path%%3DSCHEMA). No password here: use PGPASSWORD, ~/.pgpass or --db-url-env.",
    )
    where.add_argument(
        "--db-url-env",
        default=None,
        help="Environment variable holding the PostgreSQL URL (it may hold a password).",
    )


def _env(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise SystemExit(f"{what}: environment variable {name} is not set")
    return value


def _database(args: argparse.Namespace) -> dict[str, Any]:
    """The database arguments as CentralSettings fields: db_url for PostgreSQL, else db_path."""
    url = args.db_url if args.db_url is not None else _env(args.db_url_env, "--db-url-env")
    if url is None:
        return {"db_path": Path(args.db or DEFAULT_DB)}
    try:
        check_url(url)
    except ValueError as exc:
        raise SystemExit(f"central: {exc}") from None
    if args.db_url is not None and url_has_password(url):
        raise SystemExit(
            "--db-url: the URL holds a password, which other users can read in the process list;"
            " put the URL in an environment variable and name it with --db-url-env (or use PGPASSWORD)"
        )
    return {"db_url": url}


def _check_database(settings: CentralSettings) -> None:
    """Open the database once (creating its tables) so that a wrong path or URL is reported now, plainly."""
    if settings.db_path is not None and settings.db_url is None:
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        open_store(db_path=settings.db_path, db_url=settings.db_url, name=settings.name).close()
    except StoreUnavailable as exc:
        raise SystemExit(f"central: {exc}") from None


def _settings(args: argparse.Namespace, **overrides: Any) -> CentralSettings:
    password = _env(args.password_env, "--password-env")
    broker = BrokerConfig(
        host=args.host,
        port=args.port,
        protocol=args.protocol,
        username=args.username,
        password=SecretStr(password) if password is not None else None,
        tls=TlsConfig(
            ca_file=Path(args.tls_ca) if args.tls_ca else None,
            cert_file=Path(args.tls_cert) if args.tls_cert else None,
            key_file=Path(args.tls_key) if args.tls_key else None,
        ),
    )
    return CentralSettings(broker=broker, topic_prefix=args.prefix, **_database(args), **overrides)


def _connected(central: Central, timeout: float = 10.0) -> Central:
    central.start()
    if not central.subscribed.wait(timeout):
        central.stop()
        raise SystemExit("central: could not connect and subscribe to the broker")
    return central


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args, group=args.group or None, name=args.name, signing_key=_signing_key(args))
    _check_database(settings)
    central = _connected(Central(settings))
    print(f"central {args.name}: receiving (group {args.group or '-'})", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
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
    key = _signing_key(args)
    settings = _settings(args, group=None, name=name, session_expiry_s=0, acks_only=True, signing_key=key)
    _check_database(settings)
    central = _connected(Central(settings))
    try:
        message = central.publish_clearances(args.gate, declarations, snapshot=args.snapshot)
    except StoreUnavailable as exc:
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
    key = _env(args.key_env, "--key-env")
    if key is None:
        raise SystemExit("--key-env is required")
    name = f"central-cmd-{os.getpid()}"
    settings = _settings(args, group=None, name=name, session_expiry_s=0, acks_only=True)
    _check_database(settings)  # the answer is stored there
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
    database = _database(args)
    try:
        path = database.get("db_path")
        if path is None:
            store = open_store(**database, name="gate-edge-central-report")
        elif not path.is_file():
            print(_no_database(path, args.db is not None), file=sys.stderr)
            return 1
        else:
            store = SqliteCentralStore(path, create=False)
        try:
            report = store.report()
        finally:
            store.close()
    except StoreUnavailable as exc:
        print(f"central: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


def _no_database(path: Path, given: bool) -> str:
    """What a report says of a database file that is not there, and what to do."""
    where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
    told = "--db" if given else "no --db given: the default"
    return (
        f"central: {told} {path}{where}: no such database; a report never creates one. Pass --db with the"
        " file `gate-edge central run` writes (or --db-url / --db-url-env for PostgreSQL)"
    )


def add_central_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``central`` (run, clearances, command, report) to the gate CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "central", help="Reference central office: receive gate events, send clearances and commands."
    )
    sub = parser.add_subparsers(dest="action", required=True)

    p = sub.add_parser("run", help="Receive every gate's events into the database until interrupted.")
    _broker_args(p)
    p.add_argument("--group", default="central", help="Shared subscription group ('' for none).")
    p.add_argument("--name", default="central-1", help="MQTT client id of this instance (unique).")
    _signing_args(p, required=False)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("clearances", help="Send a gate its clearances from a JSON or CSV file.")
    _broker_args(p)
    p.add_argument("--gate", required=True, help="Gate id.")
    p.add_argument("--file", required=True, help="JSON list or CSV of the declarations cleared for the gate.")
    p.add_argument("--snapshot", action="store_true", help="Send a full snapshot instead of a delta.")
    _signing_args(p, required=True)
    p.set_defaults(func=cmd_clearances)

    p = sub.add_parser("command", help="Send a gate a signed command and print its answer.")
    _broker_args(p)
    p.add_argument("--gate", required=True, help="Gate id.")
    p.add_argument("--name", required=True, choices=_COMMANDS, help="The command.")
    p.add_argument("--key-env", required=True, help="Environment variable holding the gate's command key.")
    p.add_argument("--issuer", default=os.environ.get("USER", "central"), help="Who issues it (audited).")
    p.add_argument("--reason", default="", help="Why (audited).")
    p.add_argument("--wait", type=float, default=10.0, help="Seconds to wait for the gate's answer.")
    p.set_defaults(func=cmd_command)

    p = sub.add_parser(
        "report",
        help="Events stored per gate, highest seq, unresolved gaps (the database must exist: never created).",
    )
    _db_args(p)
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gate-edge")
    add_central_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["central", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
