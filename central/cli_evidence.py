"""`gate-central run`'s evidence options: which gates the screen may ask for evidence, and where it keeps it.

The evidence command is signed with each gate's command key, so the screen can ask only the gates whose
keys it is given: a JSON file ``{"gate-id": "key", ...}`` (``"${NAME}"`` takes a key from the environment),
readable by central's user only. Without ``--evidence-keys`` the screen's button answers that this central
is not set up to fetch evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from central.evidence import DEFAULT_FOLDER_BYTES, GATE_ID, EvidenceDesk
from central.settings import CentralSettings

ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
MIN_KEY_CHARS = 16


def run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--evidence-keys",
        type=Path,
        default=None,
        metavar="FILE",
        help='JSON {"gate-id": "command key" or "${ENV}"}: the gates the screen may ask for evidence images.',
    )
    p.add_argument(
        "--evidence-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="Where the images received are kept (default: evidence/ beside --db, or ./central-evidence).",
    )
    p.add_argument(
        "--evidence-max-mb",
        type=int,
        default=DEFAULT_FOLDER_BYTES // (1024 * 1024),
        help="The evidence folder's cap in MiB; the oldest images go first.",
    )


def load_keys(path: Path) -> dict[str, str]:
    """The gate -> command key map in ``path``; SystemExit naming the file and key path when it is wrong."""
    where = f"--evidence-keys {path}"
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise SystemExit(f"{where}: cannot read it: {exc.strerror}") from None
    except ValueError as exc:
        raise SystemExit(f"{where}: not JSON: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise SystemExit(f'{where}: must be a JSON object {{"gate-id": "key", ...}} naming at least one gate')
    keys: dict[str, str] = {}
    for gate, value in data.items():
        if not GATE_ID.match(gate):
            raise SystemExit(f"{where}: {gate!r}: not a gate id (letters, digits, _ . -)")
        if not isinstance(value, str):
            raise SystemExit(f"{where}: {gate}: the key must be a string")
        ref = ENV_REF.match(value)
        if ref is not None:
            found = os.environ.get(ref.group(1))
            if found is None:
                raise SystemExit(f"{where}: {gate}: environment variable {ref.group(1)} is not set")
            value = found
        if len(value) < MIN_KEY_CHARS:
            raise SystemExit(f"{where}: {gate}: a command key has at least {MIN_KEY_CHARS} characters")
        keys[gate] = value
    return keys


def desk_from(args: argparse.Namespace, settings: CentralSettings) -> EvidenceDesk | None:
    """The evidence desk the options describe (not started), or None without --evidence-keys."""
    if args.evidence_keys is None:
        return None
    if args.evidence_max_mb < 1:
        raise SystemExit("--evidence-max-mb: at least 1")
    folder = args.evidence_dir
    if folder is None:
        folder = settings.db_path.parent / "evidence" if settings.db_path else Path("central-evidence")
    return EvidenceDesk(
        settings.broker,
        settings.topic_prefix,
        load_keys(args.evidence_keys),
        folder,
        name=f"{settings.name}-evidence",
        max_folder_bytes=args.evidence_max_mb * 1024 * 1024,
    )
