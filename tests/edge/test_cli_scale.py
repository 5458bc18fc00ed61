"""`gate-edge scale watch` on a simulated indicator writing real frames into a pty, ended with Ctrl-C."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.toledo import encode_toledo
from devices.sim.net import free_tcp_port
from devices.sim.scale_peer import ScaleSimPeer
from edge.cli.scale_frames import DisplayFramer
from edge.config import GateConfig

from .test_cli_io import Cli

pytestmark = pytest.mark.timeout(60)


def _config_file(tmp_path: Path, port: str, protocol: ScaleProtocol) -> Path:
    config = GateConfig.model_validate(
        {
            "kiosk": {"port": free_tcp_port()},
            "devices": {
                "scale": {
                    "protocol": protocol.value,
                    "port": port,
                    "division_kg": 20,
                    "stability": {"divisions": 1, "window_ms": 300},
                }
            },
        }
    )
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    return path


@pytest.fixture
def toledo() -> Iterator[ScaleSimPeer]:
    with ScaleSimPeer(ScaleProtocol.TOLEDO, rate_hz=20) as peer:
        yield peer


async def test_scale_watch_prints_raw_frames_weights_stability_and_parse_errors(
    tmp_path: Path, toledo: ScaleSimPeer
) -> None:
    toledo.set_weight(12340)
    cli = await Cli.start(
        "scale", "watch", "--config", str(_config_file(tmp_path, toledo.port_name, ScaleProtocol.TOLEDO))
    )
    await cli.line_with("scale watch: toledo on")
    reading = await cli.line_with("12340 kg")
    assert '"\\x02' in reading  # the raw frame, escaped
    assert "motion no" in reading
    assert "settled at 12340 kg" in await cli.line_with("settled")
    toledo.inject(b"hello")
    assert '"hello"' in await cli.line_with("garbage")
    bad = bytearray(encode_toledo(500.0, checksum=True))
    bad[-1] ^= 0x01
    toledo.inject(bytes(bad))
    assert "error: bad checksum" in await cli.line_with("bad checksum")
    toledo.set_weight(15000, motion=True)
    assert "15000 kg tare 0 kg, motion yes, stable no" in await cli.line_with("15000 kg")
    cli.proc.send_signal(signal.SIGINT)
    code, out, err = await cli.finish()
    assert code == 0, err
    assert out.splitlines()[-1] == "scale watch: stopped"
    assert "Traceback" not in err


async def test_scale_watch_asks_an_mtsics_indicator_for_continuous_replies(tmp_path: Path) -> None:
    with ScaleSimPeer(ScaleProtocol.MTSICS) as peer:
        peer.set_weight(8000)
        cli = await Cli.start(
            "scale", "watch", "--config", str(_config_file(tmp_path, peer.port_name, ScaleProtocol.MTSICS))
        )
        line = await cli.line_with("8000 kg")
        cli.proc.send_signal(signal.SIGINT)
        code, _, err = await cli.finish()
    assert '"S S       8000 kg\\r\\n"' in line
    assert code == 0, err


async def test_scale_watch_names_a_missing_port_without_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "ttyUSB9"
    cli = await Cli.start(
        "scale", "watch", "--config", str(_config_file(tmp_path, str(missing), ScaleProtocol.TOLEDO))
    )
    code, _, err = await cli.finish()
    assert code == 1
    assert f"cannot open devices.scale.port {missing}" in err
    assert "Traceback" not in err


def test_display_framer_cuts_toledo_frames_at_stx_and_keeps_a_checksum_byte_that_is_stx() -> None:
    framer = DisplayFramer(ScaleConfig(protocol=ScaleProtocol.TOLEDO))
    frames = [encode_toledo(kg) for kg in (0.0, 20.0, 40.0)]
    frames.insert(1, encode_toledo(60.0, checksum=False) + b"\x02")  # a last byte that reads as STX
    stream = b"noise" + b"".join(frames) + frames[0][:5]
    cut = framer.feed(stream[:7]) + framer.feed(stream[7:])
    assert cut == [b"noise", *frames]
    assert framer.flush() == frames[0][:5]


def test_display_framer_cuts_lines_and_shows_a_run_without_terminator_in_bounded_pieces() -> None:
    framer = DisplayFramer(ScaleConfig(protocol=ScaleProtocol.ASCII, ascii_terminator="\r\n"))
    assert framer.feed(b"  12340 kg\r\n 120") == [b"  12340 kg\r\n"]
    assert framer.feed(b"x" * 100) == [b" 120" + b"x" * 60]
