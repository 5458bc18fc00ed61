"""`gate-edge keys`: central's clearance signing keys: make one, and print what a gate must trust.

The private key stays at central (a file only its service user reads, mode 0600); a gate gets the public half
as one ``sync.clearance_keys`` entry. docs/deploy.md walks through provisioning and rotation.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.signing_keys import KeyFileError, SigningKey, check_key_id, load_signing_key, write_private_key


def cmd_keys_generate(args: argparse.Namespace) -> int:
    key_id = args.key_id or f"central-{datetime.now(UTC):%Y%m%d}"
    try:
        key = SigningKey.generate(check_key_id(key_id))
    except ValueError as exc:
        print(f"--key-id: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    private = out / f"{key_id}.key"
    public = out / f"{key_id}.pub"
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        if public.exists():
            raise KeyFileError(f"{public}: already exists; a key file is never overwritten")
        write_private_key(key, private)
        public.write_text(key.trusted_entry())
    except KeyFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{out}: cannot write: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"private key: {private} (mode 0600; stays at central: --signing-key {private})")
    print(f"public key:  {public}")
    print("trust it on each gate, under sync.clearance_keys in gate.yaml:")
    print(key.trusted_entry(), end="")
    return 0


def cmd_keys_public(args: argparse.Namespace) -> int:
    try:
        key = load_signing_key(Path(args.keyfile), args.key_id)
    except KeyFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(key.trusted_entry(), end="")
    return 0


def add_keys_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``keys`` (generate, public) to the gate CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "keys", help="Central's clearance signing keys (Ed25519): generate, and print the public entry."
    )
    sub = parser.add_subparsers(dest="action", required=True)

    p = sub.add_parser("generate", help="Make a key pair: DIR/ID.key (private, 0600) and DIR/ID.pub.")
    p.add_argument("--out", required=True, help="Directory for the key files (made with mode 0700).")
    p.add_argument("--key-id", default=None, help="Id the gates know the key by (default: central-YYYYMMDD).")
    p.set_defaults(func=cmd_keys_generate)

    p = sub.add_parser("public", help="Print a private key's sync.clearance_keys entry for the gates.")
    p.add_argument("keyfile", help="The private key file.")
    p.add_argument("--key-id", default=None, help="Its id (default: the file's name without .key).")
    p.set_defaults(func=cmd_keys_public)
    return parser
