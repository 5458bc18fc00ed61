"""Camera frames a gate officer would recognise: a truck's front with its plate on the bumper, and the
side of its containers with their painted ISO 6346 codes.

The demo draws each generated truck this way and reads the frames with the real models, so what the
kiosk shows as evidence looks like a gate camera's picture, not a test card. Everything is seeded: a
truck's paint, the light, the camera's angle, blur, noise and compression come from one `Look`, drawn
from a numpy Generator. The plate and the codes themselves are vision/render.py's drawings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from vision.read import Image
from vision.render import Colour

SIZE = (1920, 1080)  # a 1080p gate camera
# Cab paints of the trucks seen at a Vietnamese border gate (BGR): white, red, blue, green, yellow, grey.
_CAB_PAINT: tuple[Colour, ...] = (
    (225, 225, 220),
    (40, 40, 170),
    (150, 90, 30),
    (60, 120, 50),
    (40, 170, 220),
    (120, 120, 115),
)
# Container paints (BGR): shipping-line blue, red, green, grey, orange, brown, dark blue.
_BOX_PAINT: tuple[Colour, ...] = (
    (160, 110, 40),
    (45, 45, 150),
    (60, 100, 45),
    (140, 140, 135),
    (30, 100, 215),
    (40, 60, 100),
    (110, 60, 30),
)
_CORRUGATION_PX = 30  # one corrugation period of a container side, in pixels at this distance


@dataclass(frozen=True, slots=True)
class Look:
    """How one truck looks to the gate's cameras: its paint, the day's light and the camera's view."""

    cab: Colour
    boxes: tuple[Colour, Colour]  # paint of the first and second container
    sky: Colour
    light: float  # brightness gain: dusk 0.6 .. noon 1.15
    gradient: float  # light falling off across the frame (the sun from one side), 0..1
    yaw: float  # the camera's angle to the truck: keystone as a share of the frame height
    blur: float  # Gaussian sigma in pixels (focus, motion, a dusty lens)
    noise: float  # sensor noise sigma, grey levels
    jpeg: int  # the camera's compression quality


def random_look(rng: np.random.Generator) -> Look:
    """A plausible truck under a plausible sky; every field from `rng`."""
    cab, box1, box2 = (int(i) for i in rng.integers(0, 99, 3))
    dusk = float(rng.uniform(0, 1))
    sky = (int(200 - 60 * dusk), int(180 - 70 * dusk), int(150 - 60 * dusk))
    return Look(
        cab=_CAB_PAINT[cab % len(_CAB_PAINT)],
        boxes=(_BOX_PAINT[box1 % len(_BOX_PAINT)], _BOX_PAINT[box2 % len(_BOX_PAINT)]),
        sky=sky,
        light=float(rng.uniform(0.62, 1.15)),
        gradient=float(rng.uniform(0.0, 0.35)),
        yaw=float(rng.uniform(-0.05, 0.05)),
        blur=float(rng.uniform(0.3, 1.1)),
        noise=float(rng.uniform(2.0, 6.0)),
        jpeg=int(rng.integers(70, 92)),
    )


def _shade(colour: Colour, factor: float) -> Colour:
    return (
        int(min(255, colour[0] * factor)),
        int(min(255, colour[1] * factor)),
        int(min(255, colour[2] * factor)),
    )


def _surroundings(look: Look, horizon: int, size: tuple[int, int]) -> Image:
    """Sky fading to the horizon, a customs shed's wall, and the asphalt of the lane."""
    w, h = size
    rows = np.empty((h, 1, 3), dtype=np.float32)
    rows[:horizon] = np.asarray(look.sky, np.float32) * np.linspace(1.0, 0.8, horizon)[:, None, None]
    rows[horizon:] = np.linspace(70, 95, h - horizon)[:, None, None]
    frame = np.asarray(cv2.resize(rows.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST), np.uint8)
    cv2.rectangle(frame, (0, horizon - 160), (w, horizon), (150, 160, 165), -1)  # the shed's wall
    for x in range(0, w, 240):  # its pillars
        cv2.rectangle(frame, (x, horizon - 160), (x + 24, horizon), (120, 128, 132), -1)
    return frame


def truck_front(
    plate: Image, look: Look, at: tuple[int, int] = (0, 0), size: tuple[int, int] = SIZE
) -> tuple[Image, tuple[int, int, int, int]]:
    """The plate camera's view: a cab-over truck's front, the plate on its bumper; and the plate's box.

    `at` shifts the truck (it is still rolling in). The box is (x, y, w, h) in the frame.
    """
    w, h = size
    dx, dy = at
    frame = _surroundings(look, int(h * 0.62), size)
    cx = w // 2 + dx

    def y(v: float) -> int:
        return int(h * v) + dy

    half = int(w * 0.21)
    cab, dark = look.cab, _shade(look.cab, 0.7)
    cv2.ellipse(frame, (cx, y(0.86)), (half + 60, 40), 0, 0, 360, (45, 45, 48), -1)  # shadow
    for side in (-1, 1):  # wheels under the wheel arches
        cv2.rectangle(
            frame,
            (cx + side * (half - 40) - 70, y(0.72)),
            (cx + side * (half - 40) + 70, y(0.86)),
            (25, 25, 25),
            -1,
        )
    cv2.rectangle(frame, (cx - half, y(0.1)), (cx + half, y(0.74)), cab, -1, cv2.LINE_AA)  # the cab
    cv2.rectangle(frame, (cx - half, y(0.1)), (cx + half, y(0.74)), dark, 6, cv2.LINE_AA)
    # the windscreen, with the sky's reflection across it
    screen = np.array(
        [
            [cx - half + 40, y(0.15)],
            [cx + half - 40, y(0.15)],
            [cx + half - 30, y(0.4)],
            [cx - half + 30, y(0.4)],
        ]
    )
    cv2.fillPoly(frame, [screen], (70, 60, 55), cv2.LINE_AA)
    glint = np.array(
        [
            [cx - half + 120, y(0.15)],
            [cx - half + 260, y(0.15)],
            [cx - half + 160, y(0.4)],
            [cx - half + 40, y(0.4)],
        ]
    )
    cv2.fillPoly(frame, [glint], _shade(look.sky, 0.75), cv2.LINE_AA)
    for side in (-1, 1):  # wipers, mirrors on their arms
        cv2.line(frame, (cx + side * 40, y(0.395)), (cx + side * 260, y(0.3)), (20, 20, 20), 5, cv2.LINE_AA)
        mx = cx + side * (half + 55)
        cv2.line(frame, (cx + side * half, y(0.2)), (mx, y(0.22)), (30, 30, 30), 6)
        cv2.rectangle(frame, (mx - 22, y(0.2)), (mx + 22, y(0.36)), (35, 35, 38), -1)
    # the grille: dark slats between the headlights, a badge on top
    gx0, gx1 = cx - int(half * 0.55), cx + int(half * 0.55)
    cv2.rectangle(frame, (gx0, y(0.45)), (gx1, y(0.62)), (45, 45, 48), -1)
    for gy in range(y(0.45) + 10, y(0.62), 16):
        cv2.line(frame, (gx0 + 8, gy), (gx1 - 8, gy), (95, 95, 100), 4)
    cv2.ellipse(frame, (cx, y(0.43)), (50, 14), 0, 0, 360, (190, 190, 195), -1, cv2.LINE_AA)
    for side in (-1, 1):  # headlights
        hx = cx + side * int(half * 0.78)
        cv2.rectangle(frame, (hx - 75, y(0.5)), (hx + 75, y(0.6)), (40, 40, 40), -1)
        cv2.ellipse(frame, (hx - side * 30, y(0.55)), (32, 26), 0, 0, 360, (225, 235, 240), -1, cv2.LINE_AA)
        cv2.rectangle(frame, (hx + side * 15, y(0.525)), (hx + side * 60, y(0.575)), (60, 150, 230), -1)
    # the bumper, its fog lights, and the plate on it
    cv2.rectangle(frame, (cx - half - 12, y(0.64)), (cx + half + 12, y(0.77)), (38, 38, 40), -1)
    cv2.line(frame, (cx - half - 12, y(0.645)), (cx + half + 12, y(0.645)), (85, 85, 90), 3)
    for side in (-1, 1):
        cv2.circle(frame, (cx + side * int(half * 0.8), y(0.705)), 18, (200, 210, 215), -1, cv2.LINE_AA)
    ph, pw = plate.shape[:2]
    px, py = cx - pw // 2, y(0.705) - ph // 2
    cv2.rectangle(frame, (px - 6, py - 6), (px + pw + 6, py + ph + 6), (25, 25, 25), -1)  # the mount
    _paste(frame, plate, px, py)
    return frame, (px, py, pw, ph)


def container_side(
    codes: list[Image], look: Look, at: tuple[int, int] = (0, 0), size: tuple[int, int] = SIZE
) -> Image:
    """The container camera's view: one 40 ft or two 20 ft containers on a trailer, side on.

    Each code is painted near the top right of its container, as ISO 6346 places it; `codes` are
    vision/render.py's drawings of them (light paint on a dark panel), at most two.
    """
    w, h = size
    dx, dy = at
    frame = _surroundings(look, int(h * 0.7), size)
    top, bottom = int(h * 0.12) + dy, int(h * 0.8) + dy
    cv2.rectangle(frame, (0, bottom), (w, bottom + 40), (30, 30, 32), -1)  # the trailer's chassis
    for x in range(140 + dx, w, 420):  # its wheels
        cv2.circle(frame, (x, bottom + 70), 62, (22, 22, 22), -1, cv2.LINE_AA)
        cv2.circle(frame, (x, bottom + 70), 26, (110, 110, 115), -1, cv2.LINE_AA)
    left, right = 40 + dx, w - 40 + dx
    spans = (
        [(left, right)]
        if len(codes) < 2
        else [(left, (left + right) // 2 - 12), ((left + right) // 2 + 12, right)]
    )
    for i, (x0, x1) in enumerate(spans):
        paint = look.boxes[i % 2]
        _container(frame, x0, x1, top, bottom, paint)
        if i < len(codes):
            code = codes[i]
            cw = code.shape[1]
            _paint_code(frame, code, max(0, x1 - 60 - cw), top + 50, paint)
    return frame


def _container(frame: Image, x0: int, x1: int, top: int, bottom: int, paint: Colour) -> None:
    """A container's side: corrugated panel, top and bottom rails, corner posts and castings."""
    fw = frame.shape[1]
    a, b = max(0, x0), min(fw, x1)
    if b <= a:
        return
    xs = np.arange(a, b, dtype=np.float32)
    ridge = (
        1.0
        + 0.13
        * np.sign(np.sin(2 * np.pi * xs / _CORRUGATION_PX))
        * np.abs(np.sin(2 * np.pi * xs / _CORRUGATION_PX)) ** 0.5
    )
    row = np.clip(np.asarray(paint, np.float32)[None, :] * ridge[:, None], 0, 255).astype(np.uint8)
    frame[top:bottom, a:b] = row[None, :, :]  # every row of the panel alike
    rail = _shade(paint, 0.65)
    cv2.rectangle(frame, (x0, top), (x1, top + 26), rail, -1)
    cv2.rectangle(frame, (x0, bottom - 30), (x1, bottom), rail, -1)
    for post in (x0, x1 - 34):
        cv2.rectangle(frame, (post, top), (post + 34, bottom), _shade(paint, 0.75), -1)
        for cy in (top, bottom - 34):  # corner castings with their oval holes
            cv2.rectangle(frame, (post - 3, cy), (post + 37, cy + 34), (70, 72, 75), -1)
            cv2.ellipse(frame, (post + 17, cy + 17), (10, 6), 0, 0, 360, (15, 15, 15), -1, cv2.LINE_AA)


def _paint_code(frame: Image, code: Image, x: int, y: int, paint: Colour) -> None:
    """Paint the code's light glyphs onto the container (its panel colour left out): stencilled paint."""
    h, w = frame.shape[:2]
    ch, cw = code.shape[:2]
    ch, cw = min(ch, h - y), min(cw, w - x)
    if ch <= 0 or cw <= 0:
        return
    glyphs = cv2.cvtColor(code[:ch, :cw], cv2.COLOR_BGR2GRAY).astype(np.float32)
    alpha = np.clip((glyphs - 80.0) / 160.0, 0.0, 1.0)[:, :, None]
    ink = np.full(3, 245.0 if sum(paint) < 450 else 25.0, np.float32)  # dark paint on a light box
    region = frame[y : y + ch, x : x + cw].astype(np.float32)
    frame[y : y + ch, x : x + cw] = (region * (1 - alpha) + ink * alpha).astype(np.uint8)


def _paste(frame: Image, image: Image, x: int, y: int) -> None:
    h, w = frame.shape[:2]
    ih, iw = image.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + iw), min(h, y + ih)
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = image[y0 - y : y1 - y, x0 - x : x1 - x]


def through_camera(frame: Image, look: Look, rng: np.random.Generator) -> Image:
    """What the camera delivers: seen at an angle, unevenly lit, blurred, noisy and compressed."""
    h, w = frame.shape[:2]
    if look.yaw:
        k = abs(look.yaw) * h  # the far side of the truck looks shorter
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
        dst = src.copy()
        far = (1, 2) if look.yaw > 0 else (0, 3)
        dst[far[0], 1] += k
        dst[far[1], 1] -= k
        matrix = cv2.getPerspectiveTransform(src, dst)
        frame = np.asarray(
            cv2.warpPerspective(frame, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE), np.uint8
        )
    # light: a gain falling off across the frame, applied as one 8-bit multiply
    ramp = np.linspace(look.light * (1 - look.gradient), look.light, 64, dtype=np.float32) * 128
    small = np.repeat(np.clip(ramp, 0, 255).astype(np.uint8)[None, :, None], 3, axis=2)
    out = cv2.multiply(frame, cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), scale=1 / 128)
    if look.blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), look.blur)
    if look.noise > 0:  # a window of one stored noise field, at a random offset: fresh per frame, fast
        field = _noise_field(h + _NOISE_MARGIN, w + _NOISE_MARGIN)
        oy, ox = (int(v) for v in rng.integers(0, _NOISE_MARGIN, 2))
        grain = field[oy : oy + h, ox : ox + w]
        out = cv2.addWeighted(out, 1.0, grain, look.noise / _NOISE_SIGMA, 0.0, dtype=cv2.CV_8U)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, look.jpeg])
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), dtype=np.uint8) if ok else np.asarray(out)


_NOISE_MARGIN = 97
_NOISE_SIGMA = 8.0


@functools.cache
def _noise_field(h: int, w: int) -> Image:
    """Gaussian sensor noise (sigma 8, int16), made once per frame size from a fixed seed."""
    field = np.random.default_rng(6346).normal(0.0, _NOISE_SIGMA, (h, w, 3))
    return np.asarray(field.astype(np.int16))
