"""The store file a maintenance command opens: `--db`, else the configuration's store.path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.config import ConfigError, load_config
from edge.store import Store


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="Gate configuration (embedded defaults if omitted).")
    parser.add_argument("--db", default=None, help="Store file (overrides store.path).")


def _store_path(args: argparse.Namespace) -> Path | None:
    """The store file from --db or the configuration; None (after saying why) if there is none."""
    if args.db:
        return Path(args.db)
    try:
        return load_config(args.config).store.path
    except ConfigError as exc:
        for line in exc.errors:
            print(f"{exc.source}: {line}", file=sys.stderr)
        return None


def open_store(args: argparse.Namespace, must_exist: bool) -> Store | None:
    path = _store_path(args)
    if path is None:
        return None
    if must_exist and not path.exists():
        print(f"{path}: no such store", file=sys.stderr)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return Store(path)
