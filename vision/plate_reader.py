"""A reader trained on plates: fast-plate-ocr's `cct_xs_v1_global` model, shipped in vision/models/.

The model reads a whole plate crop at once (resized to 128 x 64, RGB, uint8) into nine slots, each a
softmax over 0-9, A-Z and `_` (padding): no CTC, no character positions in the crop. Two-line plates are
read in one go (the model was trained on them). Its alphabet has no other characters, so a grammar that
needs any (Chinese province characters) cannot be read by it (`can_express`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from vision.read import Image, ModelError, open_session

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
PAD = "_"
SHIPPED_MODEL = Path(__file__).parent / "models" / "plate_reader" / "cct_xs_v1_global.onnx"
SHIPPED_SHA256 = "c1ae2ae031b10f8ab7ed6e3cdaf8d9c753477e299dbad3579c8f705a7d882134"

Probs = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True, eq=False)
class SlotRead:
    """One crop read by the plate reader: the text (pads dropped), each kept character's probability,
    and the model's whole output, [slots, len(ALPHABET)] float32, one softmax per slot."""

    text: str
    char_conf: tuple[float, ...]
    probs: Probs

    @property
    def confidence(self) -> float:
        """The weakest kept character's probability (0 for an empty read)."""
        return min(self.char_conf) if self.char_conf else 0.0


def can_express(characters: str) -> bool:
    """Whether the reader's alphabet holds every one of `characters` (a grammar's needed characters)."""
    return set(characters) <= set(ALPHABET) - {PAD}


def decode(probs: Probs) -> SlotRead:
    """The text of one output: each slot's most likely character, pads dropped."""
    best = probs.argmax(axis=1)
    kept = [(ALPHABET[k], float(probs[s, k])) for s, k in enumerate(best.tolist()) if ALPHABET[k] != PAD]
    return SlotRead("".join(ch for ch, _ in kept), tuple(p for _, p in kept), probs)


class PlateReader:
    """The plate-trained reader, one onnxruntime session created once.

    `model_path` None loads the shipped model and checks its sha256; another file is checked for the
    input (uint8, [N, H, W, 3]) and output ([N, slots, 37]) the decoding needs. ModelError otherwise.
    """

    def __init__(self, model_path: Path | None = None, threads: int = 2, max_batch: int = 16) -> None:
        path = model_path or SHIPPED_MODEL
        if model_path is None:
            _check_shipped(path)
        self._session = open_session(path, threads)
        self._input, self._height, self._width, self.slots = _check_shape(self._session, path)
        self._max_batch = max(1, max_batch)

    def read(self, crops: Sequence[Image]) -> list[SlotRead]:
        """Read each BGR crop (a whole plate, one or two lines); batched."""
        empty = SlotRead("", (), np.zeros((self.slots, len(ALPHABET)), dtype=np.float32))
        results: list[SlotRead] = [empty] * len(crops)
        usable = [i for i, crop in enumerate(crops) if crop.ndim == 3 and min(crop.shape[:2]) >= 4]
        for start in range(0, len(usable), self._max_batch):
            batch = usable[start : start + self._max_batch]
            tensor = np.stack([self._prepare(crops[i]) for i in batch])
            out = np.asarray(self._session.run(None, {self._input: tensor})[0], dtype=np.float32)
            for row, i in enumerate(batch):
                results[i] = decode(out[row])
        return results

    def _prepare(self, crop: Image) -> Image:
        resized = cv2.resize(crop, (self._width, self._height), interpolation=cv2.INTER_LINEAR)
        return np.asarray(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def _check_shipped(path: Path) -> None:
    if not path.is_file():
        raise ModelError(f"the shipped plate reader is missing: {path} (reinstall the package)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHIPPED_SHA256:
        raise ModelError(
            f"the shipped plate reader {path} is damaged: sha256 {digest}, expected {SHIPPED_SHA256} "
            "(reinstall the package)"
        )


def _check_shape(session: ort.InferenceSession, path: Path) -> tuple[str, int, int, int]:
    """The input's name, height and width and the output's slots, after one trial read of a blank crop."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) < 1:
        raise ModelError(f"{path}: a plate reader has one input and an output (has {len(inputs)} inputs)")
    shape = inputs[0].shape
    if (
        inputs[0].type != "tensor(uint8)"
        or len(shape) != 4
        or shape[3] != 3
        or not all(isinstance(d, int) and d > 0 for d in shape[1:3])
    ):
        raise ModelError(
            f"{path}: not a plate reader: its input is {inputs[0].type} {shape}, expected uint8 [N, H, W, 3]"
        )
    height, width = int(shape[1]), int(shape[2])
    try:
        out = session.run(None, {inputs[0].name: np.zeros((1, height, width, 3), dtype=np.uint8)})[0]
    except Exception as exc:  # onnxruntime raises several internal types
        raise ModelError(f"{path}: the plate reader fails on a blank crop: {exc}") from exc
    out = np.asarray(out)
    if out.ndim != 3 or out.shape[0] != 1 or out.shape[2] != len(ALPHABET) or out.shape[1] < 4:
        raise ModelError(
            f"{path}: not a plate reader: its output is {list(out.shape)}, expected "
            f"[N, slots, {len(ALPHABET)}] over {ALPHABET}"
        )
    return inputs[0].name, height, width, int(out.shape[1])
