"""Regex-configured ASCII indicators: the default pattern, a custom one, bad lines, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.ascii_format import AsciiParser, encode_ascii
from devices.scale.parsers import make_parser
from devices.scale.reading import WeightReading
from tests.devices.scale_cases import assert_chunking_changes_nothing, assert_tail_recovered

DEFAULT = ScaleConfig().ascii_pattern
# A common "ST,GS,+001234.5kg" indicator line, CR terminated: motion is the "US" (unstable) header.
CUSTOM = r"^(?:ST|(?P<motion>US)),(?:GS|NT),(?P<sign>[-+])(?P<weight>\d+(?:\.\d+)?)\s*(?P<unit>kg|t|lb)$"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"  1234 kg\r\n", WeightReading(gross_kg=1234.0)),
        (b"-   20 kg M\r\n", WeightReading(gross_kg=-20.0, motion=True)),
        (b"+12.5kg\r\n", WeightReading(gross_kg=12.5)),
    ],
)
def test_default_pattern(line: bytes, expected: WeightReading) -> None:
    assert AsciiParser(DEFAULT).feed(line, 0.0) == [expected]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"ST,GS,+001234.5kg\r", WeightReading(gross_kg=1234.5)),
        (b"US,GS,-000020.0kg\r", WeightReading(gross_kg=-20.0, motion=True)),
        (b"ST,NT,+0002.50 t\r", WeightReading(gross_kg=2500.0)),
        (b"ST,GS,+1000lb\r", WeightReading(gross_kg=453.59237)),
    ],
)
def test_custom_pattern_with_unit_and_terminator(line: bytes, expected: WeightReading) -> None:
    [reading] = AsciiParser(CUSTOM, "\r").feed(line, 0.0)
    assert reading.gross_kg == pytest.approx(expected.gross_kg)
    assert reading.motion == expected.motion


def test_non_matching_lines_are_counted_as_garbage() -> None:
    parser = AsciiParser(DEFAULT)
    readings = parser.feed(b"hello\r\n\xff\xfe\r\n" + encode_ascii(40.0), 0.0)
    assert readings == [WeightReading(gross_kg=40.0)]
    assert parser.stats.garbage_bytes == 7 + 4
    assert parser.stats.frames == 1


def test_unknown_unit_is_counted_and_skipped() -> None:
    parser = AsciiParser(r"(?P<weight>\d+) (?P<unit>\w+)")
    assert parser.feed(b"12 oz\r\n", 0.0) == []
    assert parser.stats.extra["unsupported_unit"] == 1


def test_pattern_without_weight_group_is_refused() -> None:
    with pytest.raises(ValueError, match="weight"):
        AsciiParser(r"(?P<w>\d+)")


def test_pattern_that_admits_non_numbers_yields_garbage_not_nan() -> None:
    parser = AsciiParser(r"^(?P<weight>\w+)$")
    assert parser.feed(b"nan\r\ninf\r\n12\r\n", 0.0) == [WeightReading(gross_kg=12.0)]
    assert parser.stats.garbage_bytes == 10


def test_reset_drops_the_partial_line_that_follows() -> None:
    parser = AsciiParser(DEFAULT)
    parser.reset()
    # Opened mid-line: "  1234 kg" arrived as "34 kg", which the pattern would happily read.
    assert parser.feed(b"34 kg\r\n" + encode_ascii(60.0), 0.0) == [WeightReading(gross_kg=60.0)]
    assert parser.stats.extra["resync_bytes"] == 7


def test_factory_uses_configured_pattern_and_terminator() -> None:
    parser = make_parser(
        ScaleConfig(protocol=ScaleProtocol.ASCII, ascii_pattern=CUSTOM, ascii_terminator="\r")
    )
    assert [r.gross_kg for r in parser.feed(b"ST,GS,+20kg\rST,GS,+40kg\r", 0.0)] == [20.0, 40.0]


# -- properties ------------------------------------------------------------------------------------

lines = st.builds(
    lambda counts, decimals, motion: (
        encode_ascii(counts / 10**decimals, motion, decimals),
        WeightReading(gross_kg=counts / 10**decimals, motion=motion),
    ),
    st.integers(-9_999_999, 9_999_999),
    st.integers(0, 3),
    st.booleans(),
)


@given(line=lines)
def test_encode_then_parse_roundtrips(line: tuple[bytes, WeightReading]) -> None:
    raw, expected = line
    assert AsciiParser(DEFAULT).feed(raw, 0.0) == [expected]


@given(garbage=st.binary(max_size=400), tail=st.lists(lines, min_size=1, max_size=4))
def test_garbage_never_raises_and_lines_after_the_next_terminator_are_recovered(
    garbage: bytes, tail: list[tuple[bytes, WeightReading]]
) -> None:
    assert_tail_recovered(AsciiParser(DEFAULT), garbage + b"\r\n", tail)


@given(
    parts=st.lists(st.one_of(lines.map(lambda r: r[0]), st.binary(max_size=120)), max_size=12),
    cuts=st.lists(st.integers(0, 1500), max_size=12),
)
def test_chunked_feeding_gives_the_same_readings_and_counts(parts: list[bytes], cuts: list[int]) -> None:
    assert_chunking_changes_nothing(lambda: AsciiParser(DEFAULT), b"".join(parts), cuts)
