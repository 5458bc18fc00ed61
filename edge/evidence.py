"""Evidence images: kept by SHA-256 so the kiosk and an audit can show them later, pruned after N days."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from pathlib import Path

from vision.identity import Identification, Read

log = logging.getLogger("edge.evidence")


def save_evidence(folder: Path, ident: Identification) -> None:
    """Write each read's evidence JPEG as `<sha256>.jpg` atomically, once; failures are logged."""
    reads = [r for r in (ident.plate, *ident.containers) if r is not None]
    for read in reads:
        if read.evidence_jpeg is None or read.evidence_sha256 is None:
            continue
        if hashlib.sha256(read.evidence_jpeg).hexdigest() != read.evidence_sha256:
            log.error("evidence of %s %s does not match its SHA-256: not kept", read.kind, read.text)
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{read.evidence_sha256}.jpg"
            if not path.exists():
                tmp = path.with_suffix(".part")
                tmp.write_bytes(read.evidence_jpeg)
                tmp.replace(path)
        except OSError as exc:
            log.error("evidence image could not be kept in %s: %s", folder, exc)


def prune_evidence(folder: Path, keep_s: float, now: float | None = None) -> int:
    """Delete evidence images older than `keep_s` so months of uptime never fill the disk; count them."""
    cutoff = (time.time() if now is None else now) - keep_s
    removed = 0
    try:
        files = list(folder.glob("*.jpg"))
    except OSError:
        return 0
    for path in files:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError as exc:  # vanished meanwhile, or not ours to delete: try again next time
            log.debug("evidence %s not pruned: %s", path, exc)
    if removed:
        log.info("pruned %d evidence images older than %.0f days", removed, keep_s / 86400)
    return removed


def without_images(ident: Identification) -> Identification:
    """The same reads without their evidence JPEGs (kept on disk by SHA-256): what the lane needs."""

    def bare(read: Read | None) -> Read | None:
        return None if read is None else replace(read, evidence_jpeg=None)

    return Identification(
        plate=bare(ident.plate), containers=tuple(replace(r, evidence_jpeg=None) for r in ident.containers)
    )
