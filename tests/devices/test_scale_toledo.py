"""Toledo continuous output: status bits, framing faults, and encode/parse properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.parsers import make_parser
from devices.scale.reading import WeightReading
from devices.scale.toledo import STX, ToledoParser, checksum_byte, decode_status, encode_toledo
from tests.devices.scale_cases import assert_chunking_changes_nothing, assert_tail_recovered


def _frame(a: int, b: int, c: int, weight: bytes = b"001234", tare: bytes = b"000000") -> bytes:
    frame = bytes((STX, a, b, c)) + weight + tare + b"\r"
    return frame + bytes((checksum_byte(frame),))


def _kg(counts: int, decimals: int) -> float:
    return counts / 10**decimals if decimals >= 0 else float(counts * 10**-decimals)


# -- status words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "decimals", "increment"),
    [
        (0x20 | 0x08 | 0, -2, 1),  # XXXX00
        (0x20 | 0x10 | 1, -1, 2),  # XXXXX0, x2
        (0x20 | 0x18 | 2, 0, 5),  # XXXXXX, x5
        (0x20 | 0x08 | 3, 1, 1),  # XXXXX.X
        (0x20 | 0x08 | 4, 2, 1),  # XXXX.XX
        (0x20 | 0x08 | 7, 5, 1),  # X.XXXXX
        (0x80 | 0x20 | 0x08 | 3, 1, 1),  # parity bit set: ignored
    ],
)
def test_status_a_gives_decimal_position_and_increment(a: int, decimals: int, increment: int) -> None:
    status = decode_status(a, 0x30, 0x20)
    assert (status.decimals, status.increment) == (decimals, increment)


@pytest.mark.parametrize(
    ("b", "field", "expected"),
    [
        (0x31, "net", True),
        (0x30, "net", False),
        (0x32, "negative", True),
        (0x34, "out_of_range", True),
        (0x38, "motion", True),
        (0x30, "motion", False),
        (0x30, "unit", "kg"),
        (0x20, "unit", "lb"),
        (0x70, "power_up_zero_pending", True),
    ],
)
def test_status_b_bits(b: int, field: str, expected: object) -> None:
    assert getattr(decode_status(0x2A, b, 0x20), field) == expected


@pytest.mark.parametrize(
    ("c", "field", "expected"),
    [
        (0x21, "unit", "g"),
        (0x22, "unit", "t"),
        (0x27, "unit", "custom"),
        (0x28, "print_request", True),
        (0x30, "expanded", True),
        (0x20, "print_request", False),
    ],
)
def test_status_c_bits(c: int, field: str, expected: object) -> None:
    assert getattr(decode_status(0x2A, 0x30, c), field) == expected


def test_encoder_sets_documented_bits_and_checksum() -> None:
    frame = encode_toledo(-123.4, 0.0, motion=True, overload=True, decimals=1, checksum=True, net=True)
    assert frame[0] == STX
    assert frame[1] == 0x20 | 0x08 | 3
    assert frame[2] == 0x20 | 0x10 | 0x01 | 0x02 | 0x04 | 0x08
    assert frame[4:16] == b"001234000000"
    assert frame[16] == 0x0D
    assert sum(frame) % 128 == 0
    assert encode_toledo(1000, checksum=False) == encode_toledo(1000)[:-1]


def test_encoder_refuses_what_six_digits_cannot_show() -> None:
    with pytest.raises(ValueError, match="six digits"):
        encode_toledo(1_000_000)
    with pytest.raises(ValueError, match="decimals"):
        encode_toledo(1, decimals=6)


# -- parser ----------------------------------------------------------------------------------------


def test_decimal_position_sign_and_motion_are_honoured() -> None:
    parser = ToledoParser()
    frames = _frame(0x20 | 0x08 | 2, 0x30, 0x20) + _frame(0x20 | 0x08 | 4, 0x30 | 0x02 | 0x08, 0x20)
    frames += _frame(0x20 | 0x08 | 0, 0x30, 0x20)
    readings = parser.feed(frames, 5.0)
    assert readings == [
        WeightReading(gross_kg=1234.0, at=5.0),
        WeightReading(gross_kg=-12.34, motion=True, at=5.0),
        WeightReading(gross_kg=123400.0, at=5.0),
    ]


def test_net_frame_reports_gross_as_net_plus_tare() -> None:
    reading = ToledoParser().feed(_frame(0x2A, 0x31, 0x20, b" 12000", b"  8000"), 0.0)[0]
    assert (reading.gross_kg, reading.tare_kg) == (20000.0, 8000.0)


def test_out_of_range_is_an_overload_reading_and_counted() -> None:
    parser = ToledoParser()
    [reading] = parser.feed(encode_toledo(0, overload=True), 0.0)
    assert reading.overload
    assert parser.stats.out_of_range == 1


def test_pounds_and_tonnes_are_converted_and_custom_units_skipped() -> None:
    parser = ToledoParser()
    lb, t = parser.feed(_frame(0x2A, 0x20, 0x20) + _frame(0x2C, 0x30, 0x22), 0.0)
    assert lb.gross_kg == pytest.approx(1234 * 0.45359237)
    assert t.gross_kg == pytest.approx(12.34 * 1000)
    assert parser.feed(_frame(0x2A, 0x30, 0x27), 0.0) == []
    assert parser.stats.extra["unsupported_unit"] == 1


def test_bad_checksum_is_counted_and_next_frame_still_read() -> None:
    parser = ToledoParser()
    bad = bytearray(encode_toledo(1000))
    bad[-1] ^= 0x01
    readings = parser.feed(bytes(bad) + encode_toledo(2000), 0.0)
    assert [r.gross_kg for r in readings] == [2000.0]
    assert parser.stats.bad_checksum == 1


def test_cut_frame_is_counted_and_parsing_resyncs_on_next_stx() -> None:
    parser = ToledoParser()
    readings = parser.feed(encode_toledo(1000)[:9] + encode_toledo(2000) + encode_toledo(3000)[:12], 0.0)
    readings += parser.feed(b"\r" + encode_toledo(4000), 0.0)
    assert [r.gross_kg for r in readings] == [2000.0, 4000.0]
    assert parser.stats.cut_frames == 2  # the one broken by a new STX, the one ended early by CR
    assert parser.stats.frames == 2


def test_garbage_between_frames_is_counted_in_bytes() -> None:
    parser = ToledoParser()
    readings = parser.feed(b"noise" + encode_toledo(1000) + b"\xff\x00" + encode_toledo(1020), 0.0)
    assert [r.gross_kg for r in readings] == [1000.0, 1020.0]
    assert parser.stats.garbage_bytes == 7


def test_non_digit_weight_field_is_skipped_as_garbage() -> None:
    parser = ToledoParser()
    assert parser.feed(_frame(0x2A, 0x30, 0x20, b"12a456"), 0.0) == []
    assert parser.stats.frames == 0
    assert parser.stats.garbage_bytes == 18


def test_frames_without_checksum() -> None:
    parser = make_parser(ScaleConfig(protocol=ScaleProtocol.TOLEDO, toledo_checksum=False))
    stream = encode_toledo(1000, checksum=False) + encode_toledo(2000, checksum=False)
    assert [r.gross_kg for r in parser.feed(stream, 0.0)] == [1000.0, 2000.0]


def test_checksum_byte_equal_to_stx_is_not_taken_for_a_frame_start() -> None:
    stx_sum = encode_toledo(99999, 0, True)
    assert stx_sum[-1] == STX
    parser = ToledoParser()
    readings = parser.feed(stx_sum + stx_sum, 0.0) + parser.feed(encode_toledo(20), 0.0)
    assert [r.gross_kg for r in readings] == [99999.0, 99999.0, 20.0]
    assert (parser.stats.cut_frames, parser.stats.garbage_bytes) == (0, 0)


def test_stx_valued_checksum_that_was_a_frame_start_across_chunks() -> None:
    # The stream was cut after a frame's CR; the next frame's STX happens to check that frame out.
    parser = ToledoParser()
    readings = parser.feed(encode_toledo(99999, 0, True), 0.0)
    readings += parser.feed(encode_toledo(20)[1:], 0.0)
    assert [r.gross_kg for r in readings] == [99999.0, 20.0]


def test_stx_cut_right_after_a_frame_body_is_still_found() -> None:
    # A frame cut after its CR: the next frame's STX sits where the checksum belongs.
    parser = ToledoParser()
    readings = parser.feed(encode_toledo(1000)[:-1] + encode_toledo(2000), 0.0)
    assert [r.gross_kg for r in readings] == [2000.0]


def test_reset_drops_a_partial_frame() -> None:
    parser = ToledoParser()
    assert parser.feed(encode_toledo(1000)[:10], 0.0) == []
    parser.reset()
    assert [r.gross_kg for r in parser.feed(encode_toledo(2000), 0.0)] == [2000.0]
    assert parser.stats.garbage_bytes == 10


# -- properties ------------------------------------------------------------------------------------

frames = st.builds(
    lambda counts, tare, decimals, motion, overload, net: (
        encode_toledo(_kg(counts, decimals), _kg(tare, decimals), motion, overload, decimals, net=net),
        WeightReading(
            gross_kg=_kg(counts + tare if net else counts, decimals),
            tare_kg=_kg(tare, decimals),
            motion=motion,
            overload=overload,
        ),
    ),
    st.integers(-999_999, 999_999),
    st.integers(0, 999_999),
    st.integers(-2, 5),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@given(frame=frames)
def test_encode_then_parse_roundtrips(frame: tuple[bytes, WeightReading]) -> None:
    raw, expected = frame
    assert ToledoParser().feed(raw, 0.0) == [expected]


@given(garbage=st.binary(max_size=200), tail=st.lists(frames, min_size=1, max_size=4))
def test_garbage_never_raises_and_frames_after_it_are_recovered(
    garbage: bytes, tail: list[tuple[bytes, WeightReading]]
) -> None:
    assert_tail_recovered(ToledoParser(), garbage, tail)


@given(data=st.binary(max_size=300), checksum=st.booleans())
def test_arbitrary_bytes_never_raise(data: bytes, checksum: bool) -> None:
    parser = ToledoParser(checksum=checksum)
    parser.feed(data, 0.0)
    stats = parser.stats
    assert min(stats.frames, stats.garbage_bytes, stats.cut_frames, stats.bad_checksum) >= 0


@given(
    parts=st.lists(st.one_of(frames.map(lambda f: f[0]), st.binary(max_size=20)), max_size=12),
    cuts=st.lists(st.integers(0, 400), max_size=10),
)
def test_chunked_feeding_gives_the_same_readings_and_counts(parts: list[bytes], cuts: list[int]) -> None:
    assert_chunking_changes_nothing(ToledoParser, b"".join(parts), cuts)
