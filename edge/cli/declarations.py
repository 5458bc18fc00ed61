"""`gate-edge declarations import`: load cached declarations from a JSON list (newer versions win)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edge.cli.loading import load_or_exit
from edge.declaration import Declaration

#: A declaration is about a kilobyte: this is hundreds of thousands of them.
MAX_IMPORT_BYTES = 256 * 1024 * 1024
#: Errors printed for one import file; the rest are counted.
MAX_IMPORT_ERRORS = 20


def cmd_declarations_import(args: argparse.Namespace) -> int:
    from edge.store import Store
    from sync.contract import Rejected, decode_json

    config = load_or_exit(args.config)
    try:
        with Path(args.file).open("rb") as file:
            raw = file.read(MAX_IMPORT_BYTES + 1)
        data = decode_json(raw, MAX_IMPORT_BYTES)  # bounded: size, digits, depth, surrogates, duplicate keys
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Rejected as exc:
        print(f"{args.file}: cannot read: {exc}", file=sys.stderr)
        return 1
    if not isinstance(data, list):
        print(f"{args.file}: expected a JSON list of declarations", file=sys.stderr)
        return 1
    decls, errors, bad = _validated_declarations(data)
    for line in errors:
        print(f"{args.file}: {line}", file=sys.stderr)
    if bad:
        print(f"{args.file}: {bad} of {len(data)} declarations invalid; nothing imported", file=sys.stderr)
        return 1
    store = Store(config.store.path)
    try:
        applied = sum(1 for d in decls if store.declarations.upsert(d))
    finally:
        store.close()
    print(f"{applied} of {len(decls)} declarations applied (older or equal versions are kept)")
    return 0


def _validated_declarations(items: list[Any]) -> tuple[list[Declaration], list[str], int]:
    """Each item validated on its own: the valid ones, the first MAX_IMPORT_ERRORS errors by index, and
    how many items were invalid (memory stays bounded whatever the file holds)."""
    decls: list[Declaration] = []
    errors: list[str] = []
    bad = 0
    for index, item in enumerate(items):
        try:
            decls.append(Declaration.model_validate(item))
        except ValidationError as exc:
            bad += 1
            for err in exc.errors()[: max(0, MAX_IMPORT_ERRORS - len(errors))]:
                message = err["msg"].removeprefix("Value error, ")  # a validator's own words
                errors.append(f"{index}.{'.'.join(map(str, err['loc']))}: {message}")
    return decls, errors, bad


def add_declarations_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `declarations` (import) to gate-edge's subcommands."""
    p = subparsers.add_parser("declarations", help="Manage the cached declarations.")
    dsub = p.add_subparsers(dest="action", required=True)
    q = dsub.add_parser("import", help="Import declarations from a JSON list (newer versions win).")
    q.add_argument("file")
    q.add_argument("--config", default=None)
    q.set_defaults(func=cmd_declarations_import)
