"""A YOLO-format detection set of rendered truck scenes: the data recipe for `vision train-detector`.

Each image is a generated frame (`render_scene`) with one plate and one container code at random places,
sizes and layouts, spoiled by a random gate-camera degradation (no perspective, which would move the
boxes). The labels are the pasted boxes: class 0 plate, class 1 container_code, the order of
`YoloDetector`'s default labels. No photograph is used, so the set may be regenerated and shipped freely.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from vision.iso6346 import complete
from vision.plates import VN_SERIES_LETTERS
from vision.read import Image
from vision.render import degrade, random_degradation, render_container_code, render_plate, render_scene

LABELS = ("plate", "container_code")
Box = tuple[float, float, float, float]  # normalised centre x, centre y, width, height
_LAYOUTS = ("one_block", "two_row", "vertical")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def write_detection_set(
    folder: Path, n: int = 400, seed: int = 0, size: tuple[int, int] = (1280, 720), val_share: float = 0.2
) -> Path:
    """Write `n` scenes (the last `val_share` of them for validation) and `data.yaml`; return its path."""
    if n < 2:
        raise ValueError(f"a detection set needs at least 2 images (one to validate), not {n}")
    if folder.exists() and any(folder.iterdir()):
        # An older set's images would mix into this one's splits (training images among the validation ones).
        raise ValueError(f"{folder} is not empty: write a detection set into a new or empty folder")
    rng = np.random.default_rng(seed)
    n_val = max(1, round(n * val_share))
    for i in range(n):
        split = "val" if i >= n - n_val else "train"
        image, boxes = _scene(rng, size)
        (folder / "images" / split).mkdir(parents=True, exist_ok=True)
        (folder / "labels" / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / "images" / split / f"s{i:05d}.jpg"), image)
        lines = [f"{cls} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}" for cls, (cx, cy, w, h) in boxes]
        (folder / "labels" / split / f"s{i:05d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = folder / "data.yaml"
    names = "".join(f"  {k}: {name}\n" for k, name in enumerate(LABELS))
    data.write_text(
        f"path: {folder.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}", encoding="utf-8"
    )
    return data


def read_labels(image_file: Path, shape: tuple[int, ...]) -> list[tuple[int, tuple[int, int, int, int]]]:
    """The labels written for `image_file` (DIR/images/SPLIT/NAME.jpg), as (class, pixel box x, y, w, h)."""
    label_file = image_file.parents[2] / "labels" / image_file.parent.name / (image_file.stem + ".txt")
    h, w = shape[:2]
    out = []
    for line in label_file.read_text(encoding="utf-8").splitlines():
        cls, cx, cy, bw, bh = (float(v) for v in line.split())
        out.append(
            (int(cls), (round((cx - bw / 2) * w), round((cy - bh / 2) * h), round(bw * w), round(bh * h)))
        )
    return out


def _scene(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image, list[tuple[int, Box]]]:
    """One frame and its labels (class, normalised centre x, centre y, width, height)."""
    width, height = size
    plate_text = f"{rng.integers(11, 100)}{rng.choice(list(VN_SERIES_LETTERS))}{rng.integers(0, 100_000):05d}"
    plate = render_plate(plate_text, two_line=bool(rng.random() < 0.3), height=int(rng.integers(20, 56)))
    owner = "".join(rng.choice(list(_LETTERS), 3)) + "U"
    number = complete(owner + "".join(rng.choice(list("0123456789"), 6)))
    layout = str(rng.choice(_LAYOUTS))
    # A vertical code is eleven characters tall: its characters must be small enough for the frame.
    tallest = 24 if layout == "vertical" else 36
    code = render_container_code(number, layout=layout, height=int(rng.integers(14, tallest)))
    placed: list[tuple[Image, tuple[int, int]]] = []
    for obj in (plate, code):
        placed.append((obj, _free_spot(rng, obj, placed, size)))
    scene = render_scene(placed, size=size, seed=int(rng.integers(0, 2**31)))
    spoil = replace(random_degradation(rng, severity=0.7), tilt=0.0)
    scene = degrade(scene, spoil, rng)
    boxes: list[tuple[int, Box]] = []
    for cls, (obj, (x, y)) in enumerate(placed):
        h, w = obj.shape[:2]
        boxes.append((cls, ((x + w / 2) / width, (y + h / 2) / height, w / width, h / height)))
    return scene, boxes


def _free_spot(
    rng: np.random.Generator, obj: Image, placed: list[tuple[Image, tuple[int, int]]], size: tuple[int, int]
) -> tuple[int, int]:
    """A top-left corner that keeps `obj` inside the frame and clear of what is already placed."""
    h, w = obj.shape[:2]
    for _ in range(100):
        x, y = int(rng.integers(0, size[0] - w)), int(rng.integers(0, size[1] - h))
        if all(_apart((x, y, w, h), (px, py, p.shape[1], p.shape[0])) for p, (px, py) in placed):
            return x, y
    raise ValueError(f"no room for a {w}x{h} object in a {size[0]}x{size[1]} frame")


def _apart(a: tuple[int, int, int, int], b: tuple[int, int, int, int], gap: int = 8) -> bool:
    return (
        a[0] + a[2] + gap <= b[0]
        or b[0] + b[2] + gap <= a[0]
        or a[1] + a[3] + gap <= b[1]
        or b[1] + b[3] + gap <= a[1]
    )
