"""Reconnect backoff settings are finite and bounded: `backoff_max_s: .inf` would grow the Modbus reconnect
delay to ~1e17 s, and the lane would never reconnect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", [float("inf"), float("nan"), float("-inf")])
@pytest.mark.parametrize(
    ("section", "key"),
    [
        (("devices", "io"), "backoff_initial_s"),
        (("devices", "io"), "backoff_max_s"),
        (("sync",), "backoff_initial_s"),
        (("sync",), "backoff_max_s"),
    ],
)
def test_an_infinite_or_nan_backoff_is_refused_by_its_path(
    section: tuple[str, ...], key: str, value: float
) -> None:
    raw: dict[str, object] = {key: value}
    for name in reversed(section):
        raw = {name: raw}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert info.value.errors == [f"{'.'.join(section)}.{key}: input should be a finite number"]


def test_a_devices_backoff_longer_than_five_minutes_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"devices": {"io": {"backoff_initial_s": 11, "backoff_max_s": 301}}})
    assert [line.split(":")[0] for line in info.value.errors] == [
        "devices.io.backoff_initial_s",
        "devices.io.backoff_max_s",
    ]
    config = parse_config({"devices": {"io": {"backoff_initial_s": 10, "backoff_max_s": 300}}})
    assert (config.devices.io.backoff_initial_s, config.devices.io.backoff_max_s) == (10, 300)


def test_check_config_refuses_inf_and_nan_backoffs_naming_each_key(tmp_path: Path) -> None:
    gate = tmp_path / "gate.yaml"
    gate.write_text(
        "devices:\n  io:\n    backoff_initial_s: .nan\n    backoff_max_s: .inf\n"
        "sync:\n  backoff_initial_s: -.inf\n  backoff_max_s: .NaN\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "check-config", str(gate)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "devices.io.backoff_initial_s: input should be a finite number",
        "devices.io.backoff_max_s: input should be a finite number",
        "sync.backoff_initial_s: input should be a finite number",
        "sync.backoff_max_s: input should be a finite number",
        f"{gate}: 4 error(s)",
    ]
