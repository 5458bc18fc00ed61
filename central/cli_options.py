"""The central CLI's shared options: the broker, the database, the signing key; and the settings they make.

Secrets (broker password, a database URL with a password) are read from environment variables named on the
command line, never from arguments, which other users of the machine can read; the clearance signing key
from its own file (``--signing-key``, made by ``gate-edge keys generate``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from central.pg_url import check_url, url_has_password
from central.settings import CentralSettings, open_store
from central.store import OpenMode, StoreUnavailable
from sync.config import BrokerConfig, TlsConfig
from sync.signing_keys import KeyFileError, SigningKey, load_signing_key

DEFAULT_DB = "var/central.db"


def broker_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="Broker host.")
    parser.add_argument("--port", type=int, default=1883, help="Broker port.")
    parser.add_argument("--protocol", choices=("5", "3.1.1"), default="5", help="MQTT version.")
    parser.add_argument("--username", default=None, help="Broker user name.")
    parser.add_argument("--password-env", default=None, help="Environment variable holding the password.")
    parser.add_argument("--tls-ca", default=None, help="CA certificate (PEM): enables TLS.")
    parser.add_argument("--tls-cert", default=None, help="Client certificate (PEM).")
    parser.add_argument("--tls-key", default=None, help="Client key (PEM).")
    parser.add_argument("--prefix", default="customs/v1/gates/{gate_id}/", help="Topic prefix template.")
    db_args(parser)


def signing_args(parser: argparse.ArgumentParser, required: bool) -> None:
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


def signing_key(args: argparse.Namespace) -> SigningKey | None:
    if args.signing_key is None:
        return None
    try:
        return load_signing_key(Path(args.signing_key), args.key_id)
    except KeyFileError as exc:
        raise SystemExit(f"--signing-key: {exc}") from None


def db_args(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", default=None, help=f"Central's SQLite database file (default {DEFAULT_DB}).")
    where.add_argument(
        "--db-url",
        default=None,
        help="PostgreSQL instead of SQLite: postgresql://USER@HOST:PORT/DBNAME (a schema: append"
        " ?options=-csearch_path%%3DSCHEMA). No password here: use PGPASSWORD, ~/.pgpass or --db-url-env."
        " Needs the `central` extra (psycopg).",
    )
    where.add_argument(
        "--db-url-env",
        default=None,
        help="Environment variable holding the PostgreSQL URL (it may hold a password).",
    )


def env(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise SystemExit(f"{what}: environment variable {name} is not set")
    return value


def database(args: argparse.Namespace) -> dict[str, Any]:
    """The database arguments as CentralSettings fields: db_url for PostgreSQL, else db_path."""
    url = args.db_url if args.db_url is not None else env(args.db_url_env, "--db-url-env")
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


def no_database(path: Path, given: bool, hint: str) -> str:
    """What central says of a database file that is not there, and what to do."""
    where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
    told = "--db" if given else "no --db given: the default"
    return f"central: {told} {path}{where}: no such database; {hint}"


def check_database(settings: CentralSettings, given: bool, mode: OpenMode, hint: str) -> None:
    """Open the database once so that a wrong path or URL is reported now, plainly (SystemExit)."""
    path = settings.db_path if settings.db_url is None else None
    if path is not None and mode != "create" and not path.is_file():
        raise SystemExit(no_database(path, given, hint))
    if path is not None and mode == "create":
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        open_store(db_path=settings.db_path, db_url=settings.db_url, name=settings.name, mode=mode).close()
    except StoreUnavailable as exc:
        raise SystemExit(f"central: {exc}") from None


def settings(args: argparse.Namespace, **overrides: Any) -> CentralSettings:
    password = env(args.password_env, "--password-env")
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
    return CentralSettings(broker=broker, topic_prefix=args.prefix, **database(args), **overrides)
