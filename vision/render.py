"""Synthetic plates, container codes and truck scenes, with real-world degradations.

Tests and the demo use these instead of photographs: the project owns every pixel. Degradations are
seeded (numpy Generator) so a failing case can be replayed. Latin plates are drawn with OpenCV's own
font; Chinese plates with a CJK font and Lao ones with a Lao font, both from Debian (`make system-deps`):
`FontMissing` says which package to install when one is not there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from vision.plates import display
from vision.read import Image

_FONT = cv2.FONT_HERSHEY_DUPLEX
# Debian's packages of the fonts drawn with, and where they put them.
CJK_FONT = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), "fonts-wqy-microhei")
LAO_FONT = (Path("/usr/share/fonts/truetype/lao/Phetsarath_OT.ttf"), "fonts-lao")
Colour = tuple[int, int, int]  # BGR
# Chinese plates (GA 36-2018): large vehicles and trailers black on yellow, small ones white on blue,
# new-energy ones black on green.
CN_YELLOW: tuple[Colour, Colour] = ((20, 20, 20), (0, 190, 245))
CN_BLUE: tuple[Colour, Colour] = ((245, 245, 245), (170, 70, 10))
CN_GREEN: tuple[Colour, Colour] = ((20, 20, 20), (120, 210, 110))


class FontMissing(RuntimeError):
    """A font the renderer draws with is not installed; the message names its Debian package."""


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


def render_plate(
    text: str,
    grammar: str = "vietnam",
    two_line: bool = False,
    height: int = 40,
    colours: tuple[Colour, Colour] | None = None,
) -> Image:
    """A plate as printed by its grammar (`grammar` may combine several: `vietnam+china`).

    Latin plates black on white: Vietnamese ones `51C-123.45` or in two rows `51C` / `123.45`, Cambodian
    ones `2D-0008`. Chinese ones `桂A·12345` in the CJK font, black on yellow (large vehicles: the
    trucks at a border gate; new-energy plates on green), or in two rows `桂A` / `12345` (a large
    vehicle's rear plate). `colours`: (ink, paper) instead.
    """
    if any(not ch.isascii() for ch in text) and "china" in grammar.split("+"):
        return _chinese_plate(text, two_line, height, colours)
    ink, paper = colours or ((20, 20, 20), (235, 235, 235))
    shown = display(text, grammar)
    if two_line and "-" in shown:
        top, bottom = shown.split("-", 1)
        rows = [_text_block(top, height, ink, paper), _text_block(bottom, height, ink, paper)]
    else:
        rows = [_text_block(shown, height, ink, paper)]
    return _framed(rows, paper, ink)


def _chinese_plate(text: str, two_line: bool, height: int, colours: tuple[Colour, Colour] | None) -> Image:
    ink, paper = colours or (CN_GREEN if len(text) == 8 else CN_YELLOW)
    if two_line:  # the province and letter small above the serial
        rows = [
            _font_block(text[:2], CJK_FONT, round(height * 0.7), ink, paper),
            _font_block(text[2:], CJK_FONT, height, ink, paper),
        ]
    else:
        rows = [_font_block(display(text, "china"), CJK_FONT, height, ink, paper)]
    return _framed(rows, paper, ink)


def render_lao_plate(text: str, height: int = 40) -> Image:
    """A Lao plate's text (`ກຂ 1234`) in Lao script, black on white: no reader here knows the script."""
    ink, paper = (20, 20, 20), (235, 235, 235)
    return _framed([_font_block(text, LAO_FONT, height, ink, paper)], paper, ink)


def _font_block(text: str, font: tuple[Path, str], height: int, ink: Colour, paper: Colour) -> Image:
    """A line of text in a font file, `height` pixels high (the font's size), on the paper colour."""
    path, package = font
    if not path.is_file():
        raise FontMissing(
            f"font {path} not found: install Debian's {package} package (make system-deps does)"
        )
    face = ImageFont.truetype(str(path), height)
    left, top, right, bottom = (round(v) for v in face.getbbox(text))
    pad = height // 4
    canvas = PILImage.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), paper[::-1])
    ImageDraw.Draw(canvas).text((pad - left, pad - top), text, font=face, fill=ink[::-1])
    return np.ascontiguousarray(np.asarray(canvas, dtype=np.uint8)[:, :, ::-1])


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
