"""`gate-edge central`: the reference central office (receive events, send clearances and commands).

``add_central_parser`` plugs the subcommand into the gate's CLI; ``python -m edge.central_cli`` runs it alone.
Secrets (broker password, command key) are read from environment variables named on the command line, never
from arguments, which other users of the machine can read.
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

from sync.central import Central, CentralSettings
from sync.central_feed import FeedFileError, load_declarations
from sync.central_store import CentralStore
from sync.config import BrokerConfig, TlsConfig

_COMMANDS = ("reload_clearances", "status_report", "open_barrier")


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
    parser.add_argument("--db", default="var/central.db", help="Central's SQLite database file.")


def _env(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise SystemExit(f"{what}: environment variable {name} is not set")
    return value


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
    return CentralSettings(broker=broker, db_path=Path(args.db), topic_prefix=args.prefix, **overrides)


def _connected(central: Central, timeout: float = 10.0) -> Central:
    central.start()
    if not central.subscribed.wait(timeout):
        central.stop()
        raise SystemExit("central: could not connect and subscribe to the broker")
    return central


def cmd_run(args: argparse.Namespace) -> int:
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    central = _connected(Central(_settings(args, group=args.group or None, name=args.name)))
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
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    name = f"central-feed-{os.getpid()}"
    central = _connected(Central(_settings(args, group=None, name=name, session_expiry_s=0, acks_only=True)))
    try:
        message = central.publish_clearances(args.gate, declarations, snapshot=args.snapshot)
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
    central = _connected(Central(_settings(args, group=None, name=name, session_expiry_s=0, acks_only=True)))
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
    store = CentralStore(Path(args.db))
    try:
        print(json.dumps(store.report(), indent=2))
    finally:
        store.close()
    return 0


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
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("clearances", help="Send a gate its clearances from a JSON or CSV file.")
    _broker_args(p)
    p.add_argument("--gate", required=True, help="Gate id.")
    p.add_argument("--file", required=True, help="JSON list or CSV of the declarations cleared for the gate.")
    p.add_argument("--snapshot", action="store_true", help="Send a full snapshot instead of a delta.")
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

    p = sub.add_parser("report", help="Events stored per gate, highest seq, unresolved gaps.")
    p.add_argument("--db", default="var/central.db", help="Central's SQLite database file.")
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
