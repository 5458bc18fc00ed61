"""`gate-edge watchlist ...`: plates an officer must see whatever their declaration says.

The lane reads the list at every decision, so an edit takes effect for the next vehicle without a restart.
Plates are stored normalised (the form the readers produce), so `51C-123.45` and `51C12345` are one entry; a
plate with a character no plate has (a Cyrillic С, a Lao letter, an escape sequence) is refused, not cut down
to another plate that would then be watched instead.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from edge.cli.store_file import add_store_options, open_store
from vision.plates import parse_plate

MAX_REASON = 200


def _plate(text: str) -> str | None:
    # The typed text is not echoed: it may be long or hold terminal escapes; the error names the character.
    try:
        plate = parse_plate(text)
    except ValueError as exc:
        print(f"watchlist: the text given is not a plate: {exc}", file=sys.stderr)
        return None
    if not 2 <= len(plate) <= 12:
        print(
            f"watchlist: {plate} is not a plate (2 to 12 letters, digits or Chinese characters)",
            file=sys.stderr,
        )
        return None
    return plate


def cmd_watchlist_add(args: argparse.Namespace) -> int:
    plate = _plate(args.plate)
    reason = " ".join(args.reason.split())
    if plate is None:
        return 1
    if not reason or len(reason) > MAX_REASON:
        print(f"watchlist add: a reason of 1 to {MAX_REASON} characters is required", file=sys.stderr)
        return 1
    store = open_store(args, must_exist=False)
    if store is None:
        return 1
    with store:
        store.watchlist.add(plate, reason, datetime.now(UTC))
    print(f"watchlist: {plate} added ({reason})")
    return 0


def cmd_watchlist_remove(args: argparse.Namespace) -> int:
    plate = _plate(args.plate)
    store = open_store(args, must_exist=True) if plate is not None else None
    if plate is None or store is None:
        return 1
    with store:
        removed = store.watchlist.remove(plate)
    if not removed:
        print(f"watchlist: {plate} is not listed", file=sys.stderr)
        return 1
    print(f"watchlist: {plate} removed")
    return 0


def cmd_watchlist_list(args: argparse.Namespace) -> int:
    store = open_store(args, must_exist=True)
    if store is None:
        return 1
    with store:
        for entry in store.watchlist.all():
            print(f"{entry.plate}\t{entry.added_at.isoformat(timespec='seconds')}\t{entry.reason}")
    return 0


def add_watchlist_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `watchlist` to gate-edge's subcommands (`subparsers` from add_subparsers())."""
    watchlist = subparsers.add_parser(
        "watchlist", help="Plates held for an officer whatever their declaration says."
    )
    wsub = watchlist.add_subparsers(dest="action", required=True)

    p = wsub.add_parser("add", help="List a plate (or replace its reason); punctuation is ignored.")
    p.add_argument("plate")
    p.add_argument("--reason", required=True, help="Shown to the officer with the hold.")
    add_store_options(p)
    p.set_defaults(func=cmd_watchlist_add)

    p = wsub.add_parser("remove", help="Take a plate off the list.")
    p.add_argument("plate")
    add_store_options(p)
    p.set_defaults(func=cmd_watchlist_remove)

    p = wsub.add_parser("list", help="Print the list: plate, when added (UTC), reason.")
    add_store_options(p)
    p.set_defaults(func=cmd_watchlist_list)
