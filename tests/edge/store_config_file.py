"""A gate configuration file for the CLI tests: the embedded defaults with the store under the test's own
folder, so a subcommand run in a subprocess writes nowhere else."""

from __future__ import annotations

from pathlib import Path

import yaml

from edge.config import GateConfig, StoreConfig


def config_file(tmp_path: Path) -> Path:
    """Write gate.yaml (store: tmp_path/gate.db) and return its path."""
    path = tmp_path / "gate.yaml"
    config = GateConfig(store=StoreConfig(path=tmp_path / "gate.db"))
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    return path
