"""check-config refuses a site config that does not say how its controller watchdog keeps the barrier safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main
from edge.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[2]


def _check(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return path


def test_site_config_silent_about_the_watchdog_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _check(tmp_path, "gate_id: g1\ndevices:\n  io:\n    host: 192.0.2.10\n    port: 502\n")
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "devices.io.watchdog: not set" in err
    assert "waive_reason" in err


def test_disabled_watchdog_without_a_reason_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _check(tmp_path, "devices:\n  io:\n    watchdog:\n      enabled: false\n")
    assert main(["check-config", str(path)]) == 1
    assert "devices.io.watchdog: value error, the controller watchdog is disabled" in capsys.readouterr().err


def test_waived_watchdog_passes_with_its_reason_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = "barrier controller drops its close input after 3 s without a pulse"
    path = _check(
        tmp_path, f'devices:\n  io:\n    watchdog:\n      enabled: false\n      waive_reason: "{reason}"\n'
    )
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr()
    assert f"warning: controller watchdog waived: {reason}" in out.err
    assert "ok (gate" in out.out


@pytest.mark.parametrize("name", ["demo.yaml", "example-site.yaml"])
def test_shipped_configs_arm_the_watchdog(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(ROOT / "config" / name)]) == 0
    assert (
        "controller watchdog: outputs safe (stop) 1.0 s after the daemon's last refresh"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("watchdog", "message"),
    [
        ({"timeout_s": 0.25}, "whole units of 0.1 s"),
        ({"timeout_s": 0.4, "refresh_s": 0.3}, "at most half of timeout_s"),
        ({"timeout_s": 0.5}, "twice the refresh interval plus the request timeout"),  # link timeout 0.5 s
        ({"waive_reason": "no reason to"}, "waive_reason is for a disabled watchdog"),
    ],
)
def test_watchdog_settings_that_cannot_work_are_named(watchdog: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"devices": {"io": {"watchdog": watchdog}}})
    [error] = info.value.errors
    assert error.startswith("devices.io")
    assert message in error


def test_a_gate_that_trusts_no_clearance_key_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "devices:\n  io:\n    watchdog: {}\nsync:\n  enabled: true\n  clearance_keys: []\n"
    path = _check(tmp_path, text)
    assert main(["check-config", str(path)]) == 0
    assert "warning: sync.clearance_keys is empty" in capsys.readouterr().err
