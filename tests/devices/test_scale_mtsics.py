"""MT-SICS weight replies: status codes, bad lines, and encode/parse properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.mtsics import BUSY, MtsicsParser, encode_mtsics
from devices.scale.parsers import make_parser
from devices.scale.reading import WeightReading
from tests.devices.scale_cases import assert_chunking_changes_nothing, assert_tail_recovered


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"S S     1234.5 kg\r\n", WeightReading(gross_kg=1234.5, at=1.0)),
        (b"S D      -12.0 kg\r\n", WeightReading(gross_kg=-12.0, motion=True, at=1.0)),
        (b"S S      40000 kg\r\n", WeightReading(gross_kg=40000.0, at=1.0)),
        (b"S S     2.5000 t\r\n", WeightReading(gross_kg=2500.0, at=1.0)),
        (b"S S       1500 g\n", WeightReading(gross_kg=1.5, at=1.0)),
        (b"S +\r\n", WeightReading(gross_kg=0.0, overload=True, at=1.0)),
        (b"S -\r\n", WeightReading(gross_kg=0.0, overload=True, at=1.0)),
    ],
)
def test_weight_replies(line: bytes, expected: WeightReading) -> None:
    assert MtsicsParser().feed(line, 1.0) == [expected]


def test_over_and_underload_are_counted_out_of_range() -> None:
    parser = MtsicsParser()
    parser.feed(b"S +\r\nS -\r\n", 0.0)
    assert (parser.stats.frames, parser.stats.out_of_range) == (2, 2)


def test_busy_and_command_errors_are_counted_without_reading() -> None:
    parser = MtsicsParser()
    assert parser.feed(BUSY + b"ES\r\nEL\r\n" + encode_mtsics(20.0), 0.0) == [WeightReading(gross_kg=20.0)]
    assert parser.stats.extra == {"busy": 1, "command_errors": 2}
    assert parser.stats.garbage_bytes == 0


def test_unreadable_lines_are_garbage_and_later_replies_read() -> None:
    parser = MtsicsParser()
    readings = parser.feed(b"S S   12x4 kg\r\n\x00\xff\r\nS S 1.0\r\n" + encode_mtsics(60.0), 0.0)
    assert readings == [WeightReading(gross_kg=60.0)]
    assert parser.stats.garbage_bytes == 15 + 4 + 9


def test_unknown_unit_is_counted_and_skipped() -> None:
    parser = MtsicsParser()
    assert parser.feed(b"S S      12.00 oz\r\n", 0.0) == []
    assert parser.stats.extra["unsupported_unit"] == 1


def test_endless_line_is_dropped_as_garbage_up_to_its_end() -> None:
    parser = MtsicsParser()
    parser.feed(b"x" * 500, 0.0)
    assert parser.stats.garbage_bytes == 500
    # What follows up to the line end is the tail of that noise, even if it looks like a reply.
    assert parser.feed(b"S S 5 kg\r\n" + encode_mtsics(1.0), 0.0) == [WeightReading(gross_kg=1.0)]
    assert parser.stats.garbage_bytes == 510


def test_reset_drops_the_partial_line_that_follows() -> None:
    parser = MtsicsParser()
    parser.reset()
    # The port opened mid-reply: "S S     1234.5 kg" arrived as "234.5 kg" and must not be read as a weight.
    readings = parser.feed(b"     1234.5 kg\r\n" + encode_mtsics(7.0), 0.0)
    assert readings == [WeightReading(gross_kg=7.0)]
    assert parser.stats.extra["resync_bytes"] == 16


def test_factory_builds_mtsics_parser() -> None:
    assert isinstance(make_parser(ScaleConfig(protocol=ScaleProtocol.MTSICS)), MtsicsParser)


def test_encoder_shape() -> None:
    assert encode_mtsics(1234.5) == b"S S     1234.5 kg\r\n"
    assert encode_mtsics(-20, motion=True, decimals=0) == b"S D        -20 kg\r\n"
    assert encode_mtsics(1, overload=True) == b"S +\r\n"
    assert encode_mtsics(1, underload=True) == b"S -\r\n"


# -- properties ------------------------------------------------------------------------------------

replies = st.builds(
    lambda counts, decimals, motion, over, under: (
        encode_mtsics(
            counts / 10**decimals, motion=motion, overload=over, underload=under, decimals=decimals
        ),
        WeightReading(gross_kg=0.0, overload=True)
        if over or under
        else WeightReading(gross_kg=counts / 10**decimals, motion=motion),
    ),
    st.integers(-99_999_999, 99_999_999),
    st.integers(0, 4),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@given(reply=replies)
def test_encode_then_parse_roundtrips(reply: tuple[bytes, WeightReading]) -> None:
    raw, expected = reply
    assert MtsicsParser().feed(raw, 0.0) == [expected]


@given(garbage=st.binary(max_size=300), tail=st.lists(replies, min_size=1, max_size=4))
def test_garbage_never_raises_and_replies_after_the_next_line_end_are_recovered(
    garbage: bytes, tail: list[tuple[bytes, WeightReading]]
) -> None:
    assert_tail_recovered(MtsicsParser(), garbage + b"\r\n", tail)


@given(
    parts=st.lists(st.one_of(replies.map(lambda r: r[0]), st.binary(max_size=120)), max_size=12),
    cuts=st.lists(st.integers(0, 1500), max_size=12),
)
def test_chunked_feeding_gives_the_same_readings_and_counts(parts: list[bytes], cuts: list[int]) -> None:
    assert_chunking_changes_nothing(MtsicsParser, b"".join(parts), cuts)
