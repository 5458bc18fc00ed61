"""The plate-trained reader (vision/plate_reader.py) on rendered plates, and its model checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from vision import plate_reader
from vision.plate_reader import ALPHABET, PlateReader, SlotRead, can_express, decode
from vision.read import ModelError, default_model_dir
from vision.render import render_plate


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


@pytest.mark.parametrize(("text", "grammar"), [("ANW2529", "generic"), ("51C12345", "vietnam")])
def test_reader_reads_a_rendered_plate(reader: PlateReader, text: str, grammar: str) -> None:
    (read,) = reader.read([render_plate(text, grammar)])
    assert isinstance(read, SlotRead)
    assert read.text == text
    assert len(read.char_conf) == len(text)
    assert read.confidence > 0.5
    assert read.probs.shape == (9, len(ALPHABET))
    assert read.probs.dtype == np.float32
    assert np.allclose(read.probs.sum(axis=1), 1.0, atol=1e-3)


def test_reader_keeps_the_order_of_a_batch_and_reads_a_blank_crop_as_nothing(reader: PlateReader) -> None:
    plates = [render_plate(t, "generic") for t in ("AB123CD", "XYZ789", "B4567XY")]
    tiny = np.zeros((2, 2, 3), dtype=np.uint8)
    reads = reader.read([plates[0], tiny, plates[1], plates[2]])
    assert [r.text for r in reads] == ["AB123CD", "", "XYZ789", "B4567XY"]
    assert reads[1].char_conf == ()


def test_decode_drops_pads_and_keeps_each_characters_probability() -> None:
    probs = np.full((9, len(ALPHABET)), 0.01, dtype=np.float32)
    for slot, (ch, p) in enumerate([("A", 0.9), ("_", 0.8), ("7", 0.6)] + [("_", 0.99)] * 6):
        probs[slot, ALPHABET.index(ch)] = p
    read = decode(probs)
    assert (read.text, read.char_conf) == ("A7", (pytest.approx(0.9), pytest.approx(0.6)))


def test_alphabet_cannot_express_chinese_province_characters() -> None:
    assert can_express("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert not can_express("京A12345")
    assert not can_express("_")


def test_missing_model_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        PlateReader(tmp_path / "absent.onnx")


def test_corrupt_model_file_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(plate_reader.SHIPPED_MODEL.read_bytes()[:50_000])
    with pytest.raises(ModelError, match="cannot load"):
        PlateReader(bad)


def test_shipped_model_with_a_wrong_sha256_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytearray(plate_reader.SHIPPED_MODEL.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of a weight: the file would still load
    tampered = tmp_path / "cct_xs_v1_global.onnx"
    tampered.write_bytes(bytes(data))
    monkeypatch.setattr(plate_reader, "SHIPPED_MODEL", tampered)
    with pytest.raises(ModelError, match="damaged: sha256"):
        PlateReader()


def test_missing_shipped_model_is_a_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plate_reader, "SHIPPED_MODEL", tmp_path / "cct_xs_v1_global.onnx")
    with pytest.raises(ModelError, match="missing"):
        PlateReader()


def test_shipped_model_matches_its_recorded_digest() -> None:
    digest = hashlib.sha256(plate_reader.SHIPPED_MODEL.read_bytes()).hexdigest()
    assert digest == plate_reader.SHIPPED_SHA256
    notice = plate_reader.SHIPPED_MODEL.parent / "NOTICE.md"
    assert digest in notice.read_text(encoding="utf-8")
    assert "MIT License" in (plate_reader.SHIPPED_MODEL.parent / "LICENSE").read_text(encoding="utf-8")


def test_a_text_recognizer_is_not_a_plate_reader() -> None:
    with pytest.raises(ModelError, match=r"input is tensor\(float\)"):
        PlateReader(default_model_dir() / "PP-OCRv6_rec_small.onnx")


def test_wrong_output_shape_is_a_model_error(tmp_path: Path) -> None:
    model = tmp_path / "cast.onnx"
    model.write_bytes(_cast_model())  # uint8 [N, 64, 128, 3] in, the same as float out
    with pytest.raises(ModelError, match=r"output is \[1, 64, 128, 3\]"):
        PlateReader(model)


# A tiny ONNX model written by hand (the onnx package is not a dependency): one Cast node from a uint8
# [N, 64, 128, 3] input to float. Protobuf wire format: field number << 3 | wire type.


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _value_info(name: str, elem_type: int) -> bytes:
    dims = _field(1, _field(2, b"N")) + b"".join(_field(1, _field(1, d)) for d in (64, 128, 3))
    tensor = _field(1, elem_type) + _field(2, dims)
    return _field(1, name.encode()) + _field(2, _field(1, tensor))


def _cast_model() -> bytes:
    to_float = _field(1, b"to") + _field(3, 1) + _field(20, 2)  # AttributeProto: name, i, type INT
    node = _field(1, b"x") + _field(2, b"y") + _field(4, b"Cast") + _field(5, to_float)
    graph = (
        _field(1, node) + _field(2, b"g") + _field(11, _value_info("x", 2)) + _field(12, _value_info("y", 1))
    )
    return _field(1, 8) + _field(7, graph) + _field(8, _field(2, 13))  # ir_version 8, opset 13
