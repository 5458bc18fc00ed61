"""The gate's evidence images for central's ``evidence`` command (sync's EvidenceProvider, on this gate).

The transaction's record names its images (edge/store/transactions.py); the files are the ones
edge/evidence.py keeps by SHA-256 and prunes. An image over the cap is re-encoded smaller (lower quality,
then half the size, a few times) so central still sees it; one that cannot fit is refused as too_large.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import cv2
import numpy as np

from edge.store import Store
from sync.evidence_limits import SHA256
from sync.evidence_reply import EvidenceFetch

log = logging.getLogger("edge.evidence_provider")

QUALITIES = (80, 60, 40)
MAX_HALVINGS = 4


def downscale(jpeg: bytes, max_bytes: int) -> bytes | None:
    """``jpeg`` re-encoded to at most ``max_bytes`` (lower quality first, then halved), or None."""
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    for _ in range(MAX_HALVINGS + 1):
        for quality in QUALITIES:
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and encoded.nbytes <= max_bytes:
                return bytes(encoded.tobytes())
        height, width = image.shape[:2]
        if min(height, width) < 32:
            break
        image = cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    return None


class StoreEvidence:
    """Evidence by transaction (the store, on the uplink's store thread) and by SHA-256 (the folder)."""

    def __init__(self, store: Store, folder: Path) -> None:
        self._store = store
        self._folder = folder

    def images_of(self, transaction_id: str) -> list[str] | None:
        record = self._store.transactions.get(transaction_id)
        return None if record is None else [image.sha256 for image in record.evidence]

    def fetch(self, sha256: str, max_bytes: int) -> EvidenceFetch:
        if not re.fullmatch(SHA256, sha256):  # never a path outside the folder
            return EvidenceFetch("not_held")
        path = self._folder / f"{sha256}.jpg"
        try:
            size = path.stat().st_size
            if size <= max_bytes:
                return EvidenceFetch("held", path.read_bytes(), size)
            smaller = downscale(path.read_bytes(), max_bytes)
        except FileNotFoundError:
            return EvidenceFetch("not_held")
        except OSError as exc:
            log.warning("evidence %s could not be read: %s", sha256, exc)
            return EvidenceFetch("not_held")
        if smaller is None:
            return EvidenceFetch("too_large", None, size)
        return EvidenceFetch("downscaled", smaller, size)
