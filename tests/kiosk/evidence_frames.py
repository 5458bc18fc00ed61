"""Camera reads with real evidence: a rendered frame per camera, the read's region drawn, as JPEG + SHA-256.

What vision.fuse gives the lane for a read, made without the recognizer: the kiosk tests show these crops.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from vision.candidates import Candidate
from vision.fuse import evidence_jpeg
from vision.identity import Identification, Read, ReadKind
from vision.render import render_container_code, render_plate, render_scene

FRAME = (1280, 720)


def _with_evidence(read: Read, seed: int) -> Read:
    if read.kind is ReadKind.PLATE:
        image, at = render_plate(read.text, height=70), (520, 470)
    else:
        image, at = render_container_code(read.text, height=56), (300 + 60 * seed, 160)
    frame = render_scene([(image, at)], size=FRAME, seed=seed)
    h, w = image.shape[:2]
    box = (at[0], at[1], w, h)
    candidate = Candidate(read.kind, read.text, (read.confidence,) * len(read.text), read.valid, box)
    jpeg = evidence_jpeg(frame, candidate, 85)
    assert jpeg is not None
    return replace(
        read, evidence_jpeg=jpeg, evidence_sha256=hashlib.sha256(jpeg).hexdigest(), evidence_box=box
    )


def with_evidence(ident: Identification) -> Identification:
    """`ident` whose every read carries its evidence JPEG, SHA-256 and region box."""
    return Identification(
        plate=_with_evidence(ident.plate, 0) if ident.plate is not None else None,
        containers=tuple(_with_evidence(r, i + 1) for i, r in enumerate(ident.containers)),
    )
