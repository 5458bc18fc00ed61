"""Mettler Toledo standard continuous output: the framing most weighbridge indicators can stream.

A frame is ``STX A B C wwwwww tttttt CR [checksum]``: three status words, the displayed weight and the tare
as six digits without sign or decimal point, and an optional checksum that makes the 7-bit sum of the whole
frame 0 mod 128. Status bits, as the IND-series firmware builds them (bit 7 is the serial parity bit):

- A: bits 0-2 decimal point code (0: XXXX00, 1: XXXXX0, 2: XXXXXX, 3: XXXXX.X ... 7: X.XXXXX), so the
  number of decimals is ``code - 2``; bits 3-4 increment (1: x1, 2: x2, 3: x5); bit 5 always 1.
- B: bit 0 net, bit 1 negative, bit 2 out of range (over capacity or under zero), bit 3 motion, bit 4 kg
  (0: lb), bit 5 always 1, bit 6 zero not captured since power up.
- C: bits 0-2 unit other than lb/kg (1: g, 2: t, 3: oz, 4: ozt, 5: dwt, 6: ton, 7: custom), bit 3 print
  request, bit 4 expanded display (x10), bit 5 always 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.scale.reading import FrameStats, WeightReading

STX = 0x02
CR = 0x0D
_BODY_END = 16  # index of CR in a frame
_FRAME_LEN = 17  # STX .. CR

_DECIMALS_MIN, _DECIMALS_MAX = -2, 5
_INCREMENT_CODE = {1: 1, 2: 2, 5: 3}
_INCREMENT_OF_CODE = {code: inc for inc, code in _INCREMENT_CODE.items()}

# kg per displayed unit; lb/kg come from B bit 4, the others from C bits 0-2. Units with no fixed mass
# (custom) have no entry: such frames are counted and skipped.
_KG_PER_UNIT = {"kg": 1.0, "lb": 0.45359237, "g": 0.001, "t": 1000.0}
_UNIT_OF_C = {1: "g", 2: "t", 3: "oz", 4: "ozt", 5: "dwt", 6: "ton", 7: "custom"}


@dataclass(frozen=True, slots=True)
class ToledoStatus:
    """The three status words of a frame, decoded."""

    decimals: int  # negative: the display counts in tens (-1) or hundreds (-2)
    increment: int  # 1, 2 or 5 display counts per division; 0 if the code is not defined
    net: bool
    negative: bool
    out_of_range: bool
    motion: bool
    unit: str
    power_up_zero_pending: bool
    print_request: bool
    expanded: bool


def decode_status(a: int, b: int, c: int) -> ToledoStatus:
    """Decode status words A, B and C (the parity bit is ignored)."""
    c_unit = c & 0x07
    unit = _UNIT_OF_C[c_unit] if c_unit else ("kg" if b & 0x10 else "lb")
    return ToledoStatus(
        decimals=(a & 0x07) - 2,
        increment=_INCREMENT_OF_CODE.get((a >> 3) & 0x03, 0),
        net=bool(b & 0x01),
        negative=bool(b & 0x02),
        out_of_range=bool(b & 0x04),
        motion=bool(b & 0x08),
        unit=unit,
        power_up_zero_pending=bool(b & 0x40),
        print_request=bool(c & 0x08),
        expanded=bool(c & 0x10),
    )


def checksum_byte(frame: bytes) -> int:
    """The byte that makes the 7-bit sum of ``frame`` plus itself 0 mod 128."""
    return -sum(frame) & 0x7F


def _counts(kg: float, decimals: int) -> int:
    if decimals >= 0:
        return round(kg * 10.0**decimals)
    return round(kg / 10.0**-decimals)


def encode_toledo(
    weight_kg: float,
    tare_kg: float = 0.0,
    motion: bool = False,
    overload: bool = False,
    decimals: int = 0,
    checksum: bool = True,
    *,
    net: bool = False,
    increment: int = 1,
) -> bytes:
    """Build one frame in kg; ``weight_kg`` is the displayed (gross, or net when ``net``) weight.

    Raises ValueError when the weight or tare does not fit six digits at ``decimals``.
    """
    if not _DECIMALS_MIN <= decimals <= _DECIMALS_MAX:
        raise ValueError(f"decimals must be {_DECIMALS_MIN}..{_DECIMALS_MAX}, got {decimals}")
    if increment not in _INCREMENT_CODE:
        raise ValueError(f"increment must be 1, 2 or 5, got {increment}")
    weight = _counts(weight_kg, decimals)
    tare = _counts(tare_kg, decimals)
    if abs(weight) > 999_999 or not 0 <= tare <= 999_999:
        raise ValueError(
            f"weight {weight_kg} or tare {tare_kg} does not fit six digits at {decimals} decimals"
        )
    a = 0x20 | (decimals + 2) | (_INCREMENT_CODE[increment] << 3)
    b = 0x20 | 0x10 | (0x01 if net else 0) | (0x02 if weight < 0 else 0)
    b |= (0x04 if overload else 0) | (0x08 if motion else 0)
    c = 0x20
    frame = bytes((STX, a, b, c)) + b"%06d%06d\r" % (abs(weight), tare)
    return frame + bytes((checksum_byte(frame),)) if checksum else frame


def _to_kg(counts: int, decimals: int, kg_per_unit: float) -> float:
    # Divide by an exact power of ten so 12345 at 1 decimal is the float nearest 1234.5.
    shown = counts / 10**decimals if decimals >= 0 else float(counts * 10**-decimals)
    return shown * kg_per_unit


def _field(raw: bytes) -> int | None:
    """Six right-aligned digits; a blank field reads as zero."""
    digits = raw.lstrip(b" ")
    if not digits:
        return 0
    return int(digits) if digits.isdigit() else None


class ToledoParser:
    """Incremental parser: feed it whatever the port returned, get the complete frames back.

    Bad input never raises: bytes outside a frame are ``garbage_bytes``; a frame broken by a new STX, an
    early CR or a missing CR is a ``cut_frame``; a checksum mismatch is ``bad_checksum``; a frame whose
    fields are not digits counts its bytes as garbage. Parsing resumes at the next STX.
    """

    def __init__(self, checksum: bool = True) -> None:
        self.stats = FrameStats()
        self._checksum = checksum
        self._frame_len = _FRAME_LEN + (1 if checksum else 0)
        self._buf = b""
        # When an accepted frame's checksum byte is 0x02 it may instead have been the STX of the next frame
        # (the stream was cut just before it); the next byte settles which.
        self._checksum_was_stx = False

    def reset(self) -> None:
        """Drop a partial frame: the byte stream restarted (port reopened)."""
        self.stats.garbage_bytes += len(self._buf)
        self._buf = b""
        self._checksum_was_stx = False

    def feed(self, data: bytes, at: float) -> list[WeightReading]:
        """Parse ``data`` (any split of the stream); every reading is stamped ``at``."""
        buf = self._buf + data if self._buf else data
        readings: list[WeightReading] = []
        stats = self.stats
        n = len(buf)
        i = 0
        if self._checksum_was_stx:
            if n == 0:
                return readings
            self._checksum_was_stx = False
            if buf[0] != STX:
                # The 0x02 was a frame start after all; it is already counted in the previous frame.
                buf = bytes((STX,)) + buf
                n += 1
        while i < n:
            start = buf.find(STX, i)
            if start < 0:
                stats.garbage_bytes += n - i
                i = n
                break
            stats.garbage_bytes += start - i
            body_end = min(start + _BODY_END, n)
            next_stx = buf.find(STX, start + 1, body_end)
            early_cr = buf.find(CR, start + 1, body_end)
            if next_stx >= 0 and (early_cr < 0 or next_stx < early_cr):
                stats.cut_frames += 1
                i = next_stx
                continue
            if early_cr >= 0:
                stats.cut_frames += 1
                i = early_cr + 1
                continue
            if n - start < self._frame_len:
                i = start
                break
            if buf[start + _BODY_END] != CR:
                stats.cut_frames += 1
                i = start + 1
                continue
            end = start + self._frame_len
            if self._checksum and sum(buf[start:end]) & 0x7F:
                stats.bad_checksum += 1
                # The "checksum" may really be the next frame's STX (this frame was cut after its CR).
                i = end - 1 if buf[end - 1] == STX else end
                continue
            reading = self._decode(buf, start, at)
            if reading is not None:
                readings.append(reading)
            if self._checksum and buf[end - 1] == STX:
                if end == n:
                    self._checksum_was_stx = True
                elif buf[end] != STX:
                    end -= 1
            i = end
        self._buf = buf[i:] if i < n else b""
        return readings

    def _decode(self, buf: bytes, start: int, at: float) -> WeightReading | None:
        stats = self.stats
        weight = _field(buf[start + 4 : start + 10])
        tare = _field(buf[start + 10 : start + 16])
        if weight is None or tare is None:
            stats.garbage_bytes += self._frame_len
            return None
        status = decode_status(buf[start + 1], buf[start + 2], buf[start + 3])
        kg_per_unit = _KG_PER_UNIT.get(status.unit)
        if kg_per_unit is None:
            stats.extra["unsupported_unit"] = stats.extra.get("unsupported_unit", 0) + 1
            return None
        stats.frames += 1
        if status.out_of_range:
            stats.out_of_range += 1
        shown = -weight if status.negative else weight
        gross = shown + tare if status.net else shown
        return WeightReading(
            gross_kg=_to_kg(gross, status.decimals, kg_per_unit),
            tare_kg=_to_kg(tare, status.decimals, kg_per_unit),
            motion=status.motion,
            overload=status.out_of_range,
            at=at,
        )
