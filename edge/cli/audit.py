"""`gate-edge audit verify`: check the hash chain of the officers' audit trail."""

from __future__ import annotations

import argparse
import sys

from edge.cli.store_file import add_store_options, open_store


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Exit 0 if the chain is intact; else name the first broken record and exit 1."""
    store = open_store(args, must_exist=True)
    if store is None:
        return 1
    with store:
        broken = store.audit.verify()
        if broken is None:
            print(f"audit: {store.audit.count()} records, hash chain intact, head {store.audit.head()}")
            return 0
        summary = store.audit.summary(broken)
    if summary is None:
        print(f"audit: record {broken} is missing (deleted): the chain breaks there", file=sys.stderr)
    else:
        print(
            f"audit: record {broken} is broken (changed, moved, or its predecessor removed): {summary}",
            file=sys.stderr,
        )
    return 1


def add_audit_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `audit` (verify) to gate-edge's subcommands (`subparsers` from add_subparsers())."""
    audit = subparsers.add_parser("audit", help="The officers' audit trail.")
    asub = audit.add_subparsers(dest="action", required=True)
    p = asub.add_parser("verify", help="Check the hash chain; name the first broken record (exit 1).")
    add_store_options(p)
    p.set_defaults(func=cmd_audit_verify)
