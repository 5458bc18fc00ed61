"""The store file a maintenance command opens: `--db`, else the configuration's store.path.

A command never creates folders: run from the wrong folder, a relative store path (the embedded defaults'
var/gate.db) names no store, and the command says which path it tried and what to pass, rather than
failing inside sqlite or leaving a new empty store where the gate will never read it.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from edge.config import ConfigError, GateConfig, load_config
from edge.store import Store


def add_store_options(parser: argparse.ArgumentParser, config: bool = True) -> None:
    if config:
        parser.add_argument(
            "--config", default=None, help="Gate configuration (embedded defaults if omitted)."
        )
    parser.add_argument("--db", default=None, help="Store file (overrides the configuration's store.path).")


@dataclass(frozen=True, slots=True)
class StoreFile:
    """A store path and where it came from, for the messages."""

    path: Path
    origin: str

    def problem(self, what: str) -> str:
        """One line: the path tried (and the folder it is relative to), what is wrong, what to do."""
        where = "" if self.path.is_absolute() else f" (relative to {Path.cwd()})"
        return (
            f"{self.path}{where}: {what} ({self.origin}). Run this from the gate's folder, or pass --config "
            "with the gate's configuration or --db with its store file"
        )


def store_file(args: argparse.Namespace, config: GateConfig | None = None) -> StoreFile | None:
    """The store file from --db or the configuration; None (after saying why) if there is none."""
    if args.db:
        return StoreFile(Path(args.db), "from --db")
    source = getattr(args, "config", None)
    if config is None:
        try:
            config = load_config(source)
        except ConfigError as exc:
            for line in exc.errors:
                print(f"{exc.source}: {line}", file=sys.stderr)
            return None
    origin = f"store.path of {source}" if source else "store.path of the embedded defaults: no --config given"
    return StoreFile(config.store.path, origin)


def open_store(args: argparse.Namespace, must_exist: bool, config: GateConfig | None = None) -> Store | None:
    """The store, opened; None after one line naming the path tried and what to do.

    `must_exist`: refuse a file that is not there (reading commands) rather than create an empty store.
    """
    found = store_file(args, config)
    if found is None:
        return None
    path = found.path
    if must_exist and not path.is_file():
        print(found.problem("no such store"), file=sys.stderr)
        return None
    if not path.parent.is_dir():
        print(found.problem(f"no such folder {path.parent}"), file=sys.stderr)
        return None
    try:
        return Store(path)
    except sqlite3.Error as exc:
        print(found.problem(f"cannot open the store: {exc}"), file=sys.stderr)
        return None
