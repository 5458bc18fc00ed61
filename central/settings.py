"""Where a central instance listens and stores, and how it opens its database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from central.confirm_settings import ConfirmationSettings
from central.pg_url import check_url
from central.sql_store import MAX_SEQ_JUMP
from central.store import CentralStore, OpenMode
from central.store_sqlite import SqliteCentralStore
from sync.config import BrokerConfig
from sync.signing_keys import SigningKey


@dataclass(frozen=True)
class CentralSettings:
    """Where central listens and stores."""

    broker: BrokerConfig
    db_path: Path | None = None  # SQLite file
    topic_prefix: str = "customs/v1/gates/{gate_id}/"
    group: str | None = "central"  # shared subscription group; None: a plain subscription
    name: str = "central-1"  # MQTT client id: unique per instance
    session_expiry_s: int = 24 * 3600  # 0: a clean, throw-away session (one-shot tools)
    acks_only: bool = False  # subscribe to command acks only (a tool that sends a command and waits)
    db_url: str | None = None  # postgresql://... (libpq URL): used instead of db_path
    signing_key: SigningKey | None = None  # signs every clearance message; without it none is sent
    db_mode: OpenMode = "create"  # the CLI passes "open": a missing file is an error, not a new database
    confirmations: ConfirmationSettings | None = None  # exits to the clearance system; needs signing_key
    max_seq_jump: int = MAX_SEQ_JUMP  # a seq further ahead of its gate's highest is rejected (seq_jump)

    def __post_init__(self) -> None:
        if self.max_seq_jump < 1:
            raise ValueError(f"max_seq_jump must be at least 1, not {self.max_seq_jump}")
        if self.db_url is not None:
            check_url(self.db_url)
        elif self.db_path is None:
            raise ValueError("central needs a database: db_path (SQLite) or db_url (PostgreSQL)")
        if self.confirmations is not None and self.signing_key is None:
            raise ValueError(
                "confirmations are signed: central needs a signing key (--signing-key) to send them"
            )


def open_store(
    *,
    db_path: Path | None = None,
    db_url: str | None = None,
    name: str = "gate-edge-central",
    mode: OpenMode = "create",
    max_seq_jump: int = MAX_SEQ_JUMP,
) -> CentralStore:
    """A new connection to central's database: PostgreSQL given a URL, else SQLite (StoreUnavailable: none).

    ``name`` labels the connection on the server (PostgreSQL's ``application_name``) unless the URL sets one.
    """
    if db_url is not None:
        from central.store_pg import PostgresCentralStore  # psycopg: the optional `central` extra

        return PostgresCentralStore(db_url, application_name=name, mode=mode, max_seq_jump=max_seq_jump)
    if db_path is None:
        raise ValueError("central needs a database: db_path (SQLite) or db_url (PostgreSQL)")
    return SqliteCentralStore(db_path, mode=mode, max_seq_jump=max_seq_jump)
