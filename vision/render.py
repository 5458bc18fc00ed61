"""Synthetic plates, container codes and truck scenes, with real-world degradations.

Tests and the demo use these instead of photographs: the project owns every pixel. Degradations are
seeded (numpy Generator) so a failing case can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.plates import display
from vision.read import Image

_FONT = cv2.FONT_HERSHEY_DUPLEX


@dataclass(frozen=True, slots=True)
class Degradation:
    """How badly to spoil an image: all zero is a clean render."""

    noise: float = 0.0  # Gaussian noise sigma, grey levels
    blur: float = 0.0  # Gaussian blur sigma, pixels
    tilt: float = 0.0  # perspective: corner displacement as a share of the size
    light: float = 1.0  # brightness gain
    gradient: float = 0.0  # uneven light across the image, 0..1
    jpeg: int = 0  # re-encode at this JPEG quality (0: no)


def _text_block(text: str, height: int, ink: tuple[int, int, int], paper: tuple[int, int, int]) -> Image:
    scale = height / 22.0
    thickness = max(1, round(scale * 1.6))
    (w, h), base = cv2.getTextSize(text, _FONT, scale, thickness)
    pad = height // 4
    block = np.full((h + base + 2 * pad, w + 2 * pad, 3), paper, dtype=np.uint8)
    cv2.putText(block, text, (pad, pad + h), _FONT, scale, ink, thickness, cv2.LINE_AA)
    return block


def _stack(rows: list[Image], paper: tuple[int, int, int], centred: bool = True) -> Image:
    """Rows one under another on the widest one's width, each centred (or left-aligned) on the paper."""
    width = max(r.shape[1] for r in rows)
    out = []
    for r in rows:
        canvas = np.full((r.shape[0], width, 3), paper, dtype=np.uint8)
        left = (width - r.shape[1]) // 2 if centred else 0
        canvas[:, left : left + r.shape[1]] = r
        out.append(canvas)
    return np.concatenate(out, axis=0)


def _framed(rows: list[Image], paper: tuple[int, int, int], ink: tuple[int, int, int]) -> Image:
    plate = _stack(rows, paper)
    cv2.rectangle(plate, (1, 1), (plate.shape[1] - 2, plate.shape[0] - 2), ink, 2)
    return plate


def render_plate(text: str, grammar: str = "vietnam", two_line: bool = False, height: int = 40) -> Image:
    """A plate: black on white; Vietnamese plates printed `51C-123.45` or in two rows `51C` / `123.45`."""
    ink, paper = (20, 20, 20), (235, 235, 235)
    shown = display(text, grammar)
    if two_line and "-" in shown:
        top, bottom = shown.split("-", 1)
        rows = [_text_block(top, height, ink, paper), _text_block(bottom, height, ink, paper)]
    else:
        rows = [_text_block(shown, height, ink, paper)]
    return _framed(rows, paper, ink)


CONTAINER_LAYOUTS = ("one_block", "two_row", "vertical", "door", "door_vertical")


def render_container_code(
    number: str, size_type: str = "22G1", layout: str = "one_block", height: int = 40
) -> Image:
    """A container code painted white on a coloured panel: one_block, two_row or vertical; or as
    painted on a door, the owner code apart from the serial and the check digit in a box of its own,
    in a row (door) or down a column (door_vertical)."""
    ink, paper = (245, 245, 245), (60, 40, 150)
    if layout == "door":
        return _door_code(number, size_type, height, ink, paper)
    if layout in ("vertical", "door_vertical"):
        glyphs = [_text_block(ch, height, ink, paper) for ch in number]
        if layout == "door_vertical":
            _box_glyph(glyphs[-1], height, ink)
            glyphs.insert(4, np.full((height // 2, glyphs[0].shape[1], 3), paper, dtype=np.uint8))
        return _stack(glyphs, paper)
    if layout == "two_row":
        rows = [_text_block(number[:4], height, ink, paper), _text_block(number[4:], height, ink, paper)]
    else:
        rows = [_text_block(f"{number[:4]} {number[4:10]} {number[10:]}", height, ink, paper)]
    rows.append(_text_block(size_type, int(height * 0.7), ink, paper))
    return _stack(rows, paper, centred=False)


def _box_glyph(block: Image, height: int, ink: tuple[int, int, int]) -> None:
    """Frame a one-character block, clear of the glyph (the block's margin is a quarter height)."""
    inset = max(1, height // 20)
    h, w = block.shape[:2]
    cv2.rectangle(block, (inset, inset), (w - 1 - inset, h - 1 - inset), ink, max(1, height // 16))


def _door_code(
    number: str, size_type: str, height: int, ink: tuple[int, int, int], paper: tuple[int, int, int]
) -> Image:
    owner, serial, digit = (
        _text_block(t, height, ink, paper) for t in (number[:4], number[4:10], number[10:])
    )
    _box_glyph(digit, height, ink)
    row_h = max(b.shape[0] for b in (owner, serial, digit))

    def blank(w: int, h: int = row_h) -> Image:
        return np.full((h, w, 3), paper, dtype=np.uint8)

    def level(b: Image) -> Image:
        return np.concatenate([b, blank(b.shape[1], row_h - b.shape[0])]) if b.shape[0] < row_h else b

    wide, narrow = blank(round(1.5 * height)), blank(height // 3)
    row = np.concatenate([level(owner), wide, level(serial), narrow, level(digit)], axis=1)
    size = _text_block(size_type, int(height * 0.8), ink, paper)
    left = owner.shape[1] + wide.shape[1]
    under = blank(row.shape[1], size.shape[0])
    under[:, left : left + size.shape[1]] = size[:, : row.shape[1] - left]
    return np.concatenate([row, under], axis=0)


def degrade(image: Image, d: Degradation, rng: np.random.Generator) -> Image:
    """Apply perspective, lighting, blur, noise and JPEG in the order a camera would."""
    out = image.astype(np.float32)
    h, w = image.shape[:2]
    if d.tilt:
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
        jitter = rng.uniform(-d.tilt, d.tilt, size=(4, 2)) * np.array([w, h], dtype=np.float32)
        dst = (src + jitter).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        out = np.asarray(cv2.warpPerspective(out, m, (w, h), borderMode=cv2.BORDER_REPLICATE), np.float32)
    ramp = np.linspace(1.0 - d.gradient, 1.0, w, dtype=np.float32)[np.newaxis, :, np.newaxis]
    out = out * d.light * ramp
    if d.blur:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), d.blur), np.float32)
    if d.noise:
        out = out + rng.normal(0, d.noise, out.shape).astype(np.float32)
    result = np.clip(out, 0, 255).astype(np.uint8)
    if d.jpeg:
        ok, buf = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg])
        if ok:
            result = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), dtype=np.uint8)
    return result


def random_degradation(rng: np.random.Generator, severity: float = 1.0) -> Degradation:
    """A plausible gate-camera degradation; severity 1 is a dusty lens on an overcast day."""
    return Degradation(
        noise=float(rng.uniform(2, 10) * severity),
        blur=float(rng.uniform(0.3, 1.2) * severity),
        tilt=float(rng.uniform(0.0, 0.06) * severity),
        light=float(rng.uniform(0.6, 1.2)),
        gradient=float(rng.uniform(0.0, 0.4) * severity),
        jpeg=int(rng.integers(60, 90)),
    )


def render_scene(
    objects: list[tuple[Image, tuple[int, int]]], size: tuple[int, int] = (1920, 1080), seed: int = 0
) -> Image:
    """A camera frame (w, h) of a truck's grey bulk and clutter with each object pasted at (x, y)."""
    rng = np.random.default_rng(seed)
    w, h = size
    scene = np.empty((h, w, 3), dtype=np.uint8)
    scene[:] = (90, 95, 100)
    cv2.rectangle(scene, (w // 8, h // 6), (w * 7 // 8, h * 5 // 6), (120, 110, 100), -1)
    for _ in range(30):  # clutter: bolts, panels, shadows
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        colour = tuple(int(c) for c in rng.integers(40, 200, 3))
        cv2.rectangle(scene, (x, y), (x + int(rng.integers(5, 80)), y + int(rng.integers(5, 80))), colour, -1)
    for image, (x, y) in objects:
        ih, iw = image.shape[:2]
        scene[y : y + ih, x : x + iw] = image[: h - y, : w - x]
    return scene


def write_container_set(folder: str, n: int = 100, seed: int = 0, severity: float = 1.0) -> None:
    """Write n degraded container-code crops (each layout in turn) and their labels.csv."""
    from pathlib import Path

    from vision.iso6346 import complete

    rng = np.random.default_rng(seed)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rows = ["filename,text,x,y,w,h,layout"]
    for i in range(n):
        owner = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 3)) + "U"
        number = complete(owner + "".join(rng.choice(list("0123456789"), 6)))
        layout = CONTAINER_LAYOUTS[i % len(CONTAINER_LAYOUTS)]
        image = degrade(render_container_code(number, layout=layout), random_degradation(rng, severity), rng)
        name = f"c{i:04d}.jpg"
        cv2.imwrite(str(out / name), image)
        rows.append(f"{name},{number},,,,,{layout}")
    (out / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
