"""The reader stage: PP-OCR text recognition (CTC) on crops, through one onnxruntime session.

The recognition model scores ~18 700 characters; plates and container codes use 36. Decoding keeps the
model's probabilities for blank, 0-9 and A-Z (lower case, accented and full-width forms folded into
their plain upper-case character) and lumps every other character into one "other" class that is
dropped like a separator, so a stray CJK glyph never turns up in a plate and a digit never hides
behind one. A reader made for grammars whose plates hold more (China's province characters) keeps
those characters' probabilities too (`extra`), beside the A-Z0-9 read and without changing it: a
grammar reads them from the steps (vision/plate_decode.py).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STEP_COLUMNS = ("<blank>", "<other>", *ALPHABET)  # the columns of LineRead.steps
REC_HEIGHT = 48
_MIN_WIDTH = 320  # the width the model was trained around; narrower crops are padded to it
_STEP = 8  # input pixels per output time step of the recognition model
# The padding after each crop packed into a shared row, two characters of background: with 64 px a
# generated two-row code's serial, packed after its squeezed whole, read less sure (0.94 -> 0.77).
_GAP = 96

Image = npt.NDArray[np.uint8]


class ModelError(RuntimeError):
    """A model file is missing, is not ONNX, or does not have the expected inputs and outputs."""


def default_model_dir() -> Path:
    """The folder of the PP-OCR ONNX models shipped inside the rapidocr wheel (no download)."""
    import rapidocr

    return Path(rapidocr.__file__).parent / "models"


def open_session(path: Path, threads: int) -> ort.InferenceSession:
    """One CPU onnxruntime session with `threads` intra-op threads; a clear ModelError when it cannot load."""
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The detector's and the reader's sessions each keep a thread pool, and they run one after the other:
    # pool threads that spin-wait after a run take the cores from the next session's run.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Denormal floats in the PP-OCR detector's activations take the CPU's slow path: flushed to zero, a
    # 480 px detection of a rendered 1080p frame takes 27 ms instead of 73, with the same reads.
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several internal types for a bad file
        raise ModelError(f"cannot load {path} as an ONNX model: {exc}") from exc


@dataclass(frozen=True, slots=True)
class LineRead:
    """The characters read on one text line, each with its probability and the model's runner-up."""

    text: str
    probs: tuple[float, ...]
    runners_up: tuple[tuple[str, float], ...]  # per character: the second most likely A-Z0-9 character
    # Where the model saw a separator (a space, a dash, a dot, a glyph outside A-Z0-9) between two
    # characters: the index of the character after it. A plate read together with the frame's dealer
    # name (`ARONA ANW2529`) is cut there.
    breaks: tuple[int, ...] = ()
    # The decoder's per-timestep probabilities, [T, 2 + len(ALPHABET)]: blank, "other", then ALPHABET's
    # characters (`STEP_COLUMNS`), so a text the gate expects can be scored against the read
    # (vision/verify.py). Up to 200 x 38 float32 per line; None where no model read it. A reader with
    # `extra` characters adds a column for each after these (their probability is in "other" as well).
    steps: npt.NDArray[np.float32] | None = field(default=None, repr=False, compare=False)
    extra: str = ""  # the characters of the steps' columns after ALPHABET's

    @property
    def confidence(self) -> float:
        """The weakest character's probability (0 for an empty read): one bad character spoils a plate."""
        return min(self.probs) if self.probs else 0.0

    def __add__(self, other: LineRead) -> LineRead:
        n = len(self.text)
        joint = (n,) if n and other.text else ()
        return LineRead(
            self.text + other.text,
            self.probs + other.probs,
            self.runners_up + other.runners_up,
            self.breaks + joint + tuple(n + b for b in other.breaks),
            _joined_steps(self, other),
            self.extra or other.extra,
        )

    def segment(self, start: int, end: int) -> LineRead:
        """Characters start..end of the line, with the breaks inside them."""
        return LineRead(
            self.text[start:end],
            self.probs[start:end],
            self.runners_up[start:end],
            tuple(b - start for b in self.breaks if start < b < end),
        )

    def segments(self, longest: int | None = None) -> list[tuple[int, int]]:
        """Every run of whole words (start, end) of at most `longest` characters, the whole line
        excepted: cut at the breaks."""
        cuts = [0, *self.breaks, len(self.text)]
        return [
            (cuts[i], cuts[j])
            for i in range(len(cuts) - 1)
            for j in range(i + 1, len(cuts))
            if (i, j) != (0, len(cuts) - 1) and (longest is None or cuts[j] - cuts[i] <= longest)
        ]


EMPTY = LineRead("", (), ())


def _joined_steps(a: LineRead, b: LineRead) -> npt.NDArray[np.float32] | None:
    """The steps of two reads one after the other; an empty read without steps adds none."""
    parts = [r.steps for r in (a, b) if r.steps is not None or r.text]
    if not parts or any(p is None for p in parts):
        return None
    return np.concatenate([p for p in parts if p is not None])


class TextReader:
    """PP-OCR recognition on crops, batched; the session is created once."""

    def __init__(
        self, model_path: Path, threads: int = 2, max_batch: int = 8, extra: str = "", pack: bool = True
    ) -> None:
        self._session = open_session(model_path, threads)
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(f"{model_path}: not a text recognition model (inputs {inputs})")
        self._input = inputs[0].name
        characters = self._session.get_modelmeta().custom_metadata_map.get("character")
        if not characters:
            raise ModelError(f"{model_path}: no character list in the model's metadata")
        vocab = ["<blank>", *characters.split("\n"), " "]
        self._columns = _alphabet_columns(vocab, model_path)
        # Characters beyond A-Z0-9 that a grammar needs (China's province characters): kept as they are.
        missing = [ch for ch in extra if ch not in vocab]
        if missing:
            raise ModelError(f"{model_path}: the model cannot read {''.join(missing)}")
        self.extra = extra
        self._extra_columns = [vocab.index(ch) for ch in extra]
        self._max_batch = max(1, max_batch)
        self.pack = pack  # narrow container crops share an input row (`read`)

    def read(self, crops: Sequence[Image], background_pad: bool = False) -> list[LineRead]:
        """Read one text line from each BGR crop; crops of similar width are batched together.

        Narrow crops are padded with grey, or with `background_pad` with the median colour of their left
        and right edges: on a coloured container panel a grey block reads as one more character
        (generated degraded containers: 89% exact with grey, 96% with the panel colour), while tight
        plate crops, whose edges are the plate's frame, read better with grey.

        With `pack`, container crops (`background_pad`) much narrower than the model's 320 px share one
        input row, each followed by its own padding, and each is decoded from its own time steps: the
        model's cost grows with the pixels it reads, and most of a container frame's crops are a word
        or a few characters wide (container-marsa: half the pixels read were padding). Plate crops are
        read alone: packed, two vn-plate-vito plates read right lost their validity, for 4% fewer
        pixels.
        """
        results: list[LineRead] = [EMPTY] * len(crops)
        usable = [i for i, crop in enumerate(crops) if crop.ndim == 3 and min(crop.shape[:2]) >= 4]
        usable.sort(key=lambda i: crops[i].shape[1] / crops[i].shape[0])  # unpacked: the batches as before
        widths = {i: _scaled_width(crops[i]) for i in usable}
        rows = _packed_rows(usable, widths, self.pack and background_pad)
        for start in range(0, len(rows), self._max_batch):
            batch = rows[start : start + self._max_batch]
            width = max(_MIN_WIDTH, *(_row_width(row, widths) for row in batch))
            tensor = np.zeros((len(batch), 3, REC_HEIGHT, width), dtype=np.float32)
            for r, row in enumerate(batch):
                for k, (i, x0) in enumerate(row):
                    end = row[k + 1][1] if k + 1 < len(row) else width
                    tensor[r, :, :, x0:end] = _input_piece(crops[i], widths[i], end - x0, background_pad)
            probs = self._session.run(None, {self._input: tensor})[0]
            steps = probs.shape[1]
            for r, row in enumerate(batch):
                for k, (i, x0) in enumerate(row):
                    t1 = row[k + 1][1] // _STEP if k + 1 < len(row) else steps
                    results[i] = self._decode(np.asarray(probs[r, x0 // _STEP : t1], dtype=np.float32))
        return results

    def _decode(self, probs: npt.NDArray[np.float32]) -> LineRead:
        # Columns: blank, "other" (everything not blank or alphanumeric), then 0-9 and A-Z.
        kept = np.zeros((probs.shape[0], 2 + len(ALPHABET)), dtype=np.float32)
        kept[:, 0] = probs[:, 0]
        for k, cols in enumerate(self._columns):
            kept[:, 2 + k] = probs[:, cols].sum(axis=1)
        kept[:, 1] = np.clip(1.0 - kept[:, 0] - kept[:, 2:].sum(axis=1), 0.0, 1.0)
        best = kept.argmax(axis=1)
        text: list[str] = []
        char_probs: list[float] = []
        runners: list[tuple[str, float]] = []
        breaks: list[int] = []
        previous = -1
        for t, cls in enumerate(best.tolist()):
            if cls == 1 and text and (not breaks or breaks[-1] != len(text)):
                breaks.append(len(text))
            if cls >= 2 and cls != previous:
                alnum = kept[t, 2:]
                order = np.argsort(alnum)
                text.append(ALPHABET[cls - 2])
                char_probs.append(float(kept[t, cls]))
                runners.append((ALPHABET[int(order[-2])], float(alnum[order[-2]])))
            elif cls >= 2:
                # A repeated frame of the same character: keep its best probability.
                char_probs[-1] = max(char_probs[-1], float(kept[t, cls]))
            previous = cls
        if breaks and breaks[-1] == len(text):  # a separator after the last character cuts nothing
            breaks.pop()
        steps = np.concatenate([kept, probs[:, self._extra_columns]], axis=1) if self.extra else kept
        return LineRead("".join(text), tuple(char_probs), tuple(runners), tuple(breaks), steps, self.extra)


def _input_piece(crop: Image, w: int, room: int, background_pad: bool) -> npt.NDArray[np.float32]:
    """A crop resized to `w` x REC_HEIGHT, padded to `room` pixels, as the model's normalised CHW input."""
    resized = cv2.resize(crop, (w, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)[:, :room]
    piece = np.zeros((3, REC_HEIGHT, room), dtype=np.float32)  # 0 is grey once normalised
    if background_pad and resized.shape[1] < room:
        border = np.concatenate([resized[:, :2], resized[:, -2:]], axis=1).reshape(-1, 3)
        fill = np.median(border, axis=0).astype(np.uint8).astype(np.float32) / 127.5 - 1.0
        piece[:] = fill[:, np.newaxis, np.newaxis]
    piece[:, :, : resized.shape[1]] = resized.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    return piece


def _packed_rows(usable: list[int], widths: dict[int, int], pack: bool) -> list[list[tuple[int, int]]]:
    """The model's input rows: each a list of (crop index, left pixel), narrowest rows first (`usable`'s
    order among rows as wide).

    Packed, a crop takes its width and `_GAP` of its own padding, rounded up to the model's time step,
    and narrow crops fill rows of `_MIN_WIDTH`, first fit, narrowest first; a crop too wide to share
    has a row of its own. (Rows up to 640 px, or the widest crops placed first, read fewer pixels but
    changed a container-marsa read that the rows of 320 px keep.)
    """
    order = sorted(usable, key=lambda i: widths[i])
    if not pack:
        return [[(i, 0)] for i in order]
    rows: list[list[tuple[int, int]]] = []
    used: list[int] = []
    for i in order:
        slot = -(-(widths[i] + _GAP) // _STEP) * _STEP
        for r, taken in enumerate(used):
            if taken + slot <= _MIN_WIDTH:
                rows[r].append((i, taken))
                used[r] += slot
                break
        else:
            rows.append([(i, 0)])
            used.append(slot)
    return sorted(rows, key=lambda row: _row_width(row, widths))


def _row_width(row: list[tuple[int, int]], widths: dict[int, int]) -> int:
    i, x0 = row[-1]
    return x0 + widths[i]


def _scaled_width(crop: Image) -> int:
    h, w = crop.shape[:2]
    return max(8, min(1600, math.ceil(REC_HEIGHT * int(w) / int(h))))


def plain_letter(ch: str) -> str:
    """The A-Z0-9 character a vocabulary entry stands for on a plate, or the entry upper-cased.

    The model's vocabulary spells one glyph many ways: a worn O on a Brazilian plate came out as
    `Ö` (0.27), `ö` (0.29) and `ō` (0.10) and was dropped as "other", leaving `ZV6697` of `OZV6697`.
    Plates carry no diacritics and no full-width forms, so compatibility forms and accented Latin
    letters count as their base character.
    """
    if len(ch) != 1:
        return ch.upper()
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).upper()
    return base if len(base) == 1 and base in ALPHABET else ch.upper()


def _alphabet_columns(vocab: list[str], model_path: Path) -> list[list[int]]:
    index: dict[str, list[int]] = {}
    for i, ch in enumerate(vocab):
        index.setdefault(plain_letter(ch), []).append(i)
    missing = [ch for ch in ALPHABET if ch not in index]
    if missing:
        raise ModelError(f"{model_path}: the model cannot read {''.join(missing)}")
    return [index[ch] for ch in ALPHABET]
