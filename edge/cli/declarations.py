"""`gate-edge declarations import`: load cached declarations from a JSON list (newer versions win)."""

from __future__ import annotations

import argparse
import os
import sqlite3
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

from edge.cli.loading import load_or_exit
from edge.cli.store_file import add_store_options, open_store

#: A declaration is about a kilobyte: this is hundreds of thousands of them.
MAX_IMPORT_BYTES = 256 * 1024 * 1024
#: Errors printed for one import file; the rest are counted.
MAX_IMPORT_ERRORS = 20

FORMAT = """\
The file is a JSON list of declarations (UTF-8, at most 256 MiB), each an object with:
  number           string, 1-64 characters; one entry per number in a file
  status           cleared | pending | revoked | rejected (only cleared lets a vehicle pass)
  channel          green | yellow | red (red: held until its inspection is recorded)
  inspection_done  true | false (optional, false)
  plates           list of 1-16 plates; separators (space - . / and the middle dot), case and full-width
                   forms are normalised (51f-446.14 is stored 51F44614); any other character is an error
  containers       list of up to 64 {"number": ISO 6346, "seal": optional string <= 64} (optional);
                   spaces and dashes dropped, the check digit must hold
  gross_kg         number > 0 and <= 500000, or null (optional: no weight check)
  valid_from       time with its UTC offset: 2025-03-01T00:00:00+07:00 or 2025-02-28T17:00:00Z
  valid_until      the same, not before valid_from
  version          integer >= 1 (optional, 1): a newer version of a number replaces the stored one
Example:
  [{"number": "105000000001", "status": "cleared", "channel": "green",
    "plates": ["51C-123.45"], "containers": [{"number": "MSKU 386603-6", "seal": "VN123456"}],
    "gross_kg": 28000, "valid_from": "2025-03-01T00:00:00+07:00",
    "valid_until": "2025-03-08T00:00:00+07:00", "version": 1}]
Any error is named by its key path (declarations[3].containers[1].number: check digit 7, expected 0) and
nothing of the file is imported. A declaration expired or not yet valid is imported with a note.
docs/declarations.md has the whole format."""


#: A spreadsheet's or Notepad's "UTF-8" export starts with this mark; it is no part of the JSON.
_BOM = b"\xef\xbb\xbf"


class _NotAFile(Exception):
    """The path names a pipe, device or folder: reading it could block forever or never end."""


def _read_bounded(path: Path) -> bytes:
    """The file's first MAX_IMPORT_BYTES + 1 bytes; a FIFO is opened without waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _NotAFile("not a regular file (a pipe, device or folder); give the declarations file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read(MAX_IMPORT_BYTES + 1)
    finally:
        os.close(fd)


def cmd_declarations_import(args: argparse.Namespace) -> int:
    from edge.declaration_file import check_file
    from sync.contract import Rejected, decode_json

    config = load_or_exit(args.config)
    try:
        raw = _read_bounded(Path(args.file))
        data = decode_json(raw.removeprefix(_BOM), MAX_IMPORT_BYTES)  # bounded: size, digits, depth, keys
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except _NotAFile as exc:
        print(f"{args.file}: cannot read: {exc}", file=sys.stderr)
        return 1
    except Rejected as exc:
        print(f"{args.file}: cannot read: {exc}", file=sys.stderr)
        return 1
    if not isinstance(data, list):
        print(f"{args.file}: expected a JSON list of declarations", file=sys.stderr)
        return 1
    checked = check_file(data, config.vision.plate_grammar, MAX_IMPORT_ERRORS, datetime.now(UTC))
    for line in checked.errors:
        print(f"{args.file}: {line}", file=sys.stderr)
    if checked.refused:
        print(
            f"{args.file}: {checked.refused} of {len(data)} declarations invalid; nothing imported",
            file=sys.stderr,
        )
        return 1
    store = open_store(args, must_exist=False, config=config)
    if store is None:
        return 1
    with store:
        try:  # one transaction: a failure half-way leaves the cache as it was
            applied = store.declarations.upsert_many(checked.declarations)
        except sqlite3.Error as exc:
            print(f"{store.path}: cannot write the declarations: {exc}; nothing imported", file=sys.stderr)
            return 1
    for note in checked.notes:
        print(f"{args.file}: note: {note}", file=sys.stderr)
    print(f"{applied} of {len(checked.declarations)} declarations applied (older or equal versions are kept)")
    return 0


def add_declarations_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `declarations` (import) to gate-edge's subcommands."""
    p = subparsers.add_parser("declarations", help="Manage the cached declarations.")
    dsub = p.add_subparsers(dest="action", required=True)
    q = dsub.add_parser(
        "import",
        help="Import declarations from a JSON list (newer versions win; any error imports nothing).",
        description="Import declarations into the gate's store from a JSON list (newer versions win).",
        epilog=FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("file", help="The JSON file.")
    add_store_options(q)
    q.set_defaults(func=cmd_declarations_import)
